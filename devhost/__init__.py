"""devhost: a local Azure Functions host for this app (HTTP, timers, Event Grid, Durable Functions).

Run it with ``python -m devhost --app function_app --port 7071 --state-dir .devhost``. It serves the
module's ``app`` the way the Functions host and the Durable extension do, for development and
end-to-end tests; production runs on Azure Functions.
"""
