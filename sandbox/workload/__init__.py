"""The QLP stand-in workload: the app each sandbox container group runs as a local process."""
