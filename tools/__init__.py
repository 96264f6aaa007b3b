"""Repository tooling that is neither the app, its hosts, nor drctl: building the deployable package."""
