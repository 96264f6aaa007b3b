"""drctl: the operator command line of Continuity. It talks to the HTTP API only (never imports the app)."""
