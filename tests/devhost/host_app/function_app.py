"""A small function app that exercises devhost: HTTP routes and auth levels, timers, Event Grid.

Side effects go to JSON lines files under $HOST_APP_OUT so tests can observe invocations.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
_lock = threading.Lock()


def record(name: str, entry: dict[str, Any]) -> None:
    out = Path(os.environ["HOST_APP_OUT"])
    with _lock, (out / f"{name}.jsonl").open("a") as handle:
        handle.write(json.dumps(entry) + "\n")


def as_json(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


# ---- HTTP --------------------------------------------------------------------------------------------
@app.route(route="echo/{id:int}/{name?}", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return as_json(
        {
            "method": req.method,
            "url": req.url,
            "route": dict(req.route_params),
            "query": dict(req.params),
            "header": req.headers.get("x-test"),
            "body": req.get_body().decode(),
        }
    )


@app.route(route="echo/special", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def echo_special(req: func.HttpRequest) -> func.HttpResponse:
    return as_json({"which": "literal route wins"})


@app.route(route="files/{*path}", auth_level=func.AuthLevel.ANONYMOUS)
async def files(req: func.HttpRequest) -> func.HttpResponse:
    return as_json({"path": req.route_params.get("path"), "async": True})


@app.route(route="text", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def text(req: func.HttpRequest) -> str:
    return "plain text"


@app.route(route="status/{code:int}", methods=["PUT"], auth_level=func.AuthLevel.ANONYMOUS)
def status(req: func.HttpRequest) -> func.HttpResponse:
    code = int(req.route_params["code"])
    return func.HttpResponse("custom", status_code=code, headers={"X-Custom": "yes"})


@app.route(route="boom", auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("boom on purpose")


@app.route(route="keyed", methods=["GET"])
def keyed(req: func.HttpRequest) -> func.HttpResponse:
    return as_json({"level": "function"})


@app.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    return as_json({"level": "admin"})


@app.route(route="settings", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def settings(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    names = ("GREETING", "OVERRIDDEN")
    return as_json({"env": {n: os.environ.get(n) for n in names}, "function": context.function_name})


@app.route(route="client", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@app.durable_client_input(client_name="client")
async def client_info(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return as_json({"task_hub": client._orchestration_bindings.task_hub_name})


@app.route(route="start/{name}", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@app.durable_client_input(client_name="client")
async def start_greeting(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new("greeting_flow", None, req.route_params["name"])
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def greeting_flow(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    name = context.get_input()
    first = yield context.call_activity("say_hello", name)
    second = yield context.call_activity("say_hello", first)
    return second


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"hello {name}"


# ---- timers ------------------------------------------------------------------------------------------
@app.timer_trigger(schedule="%TICK_SCHEDULE%", arg_name="timer")
def tick(timer: func.TimerRequest) -> None:
    record("tick", {"past_due": timer.past_due, "status": timer.schedule_status})


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=True)
def on_startup(timer: func.TimerRequest) -> None:
    record("on_startup", {"past_due": timer.past_due})


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer")
async def yearly(timer: func.TimerRequest) -> None:
    record("yearly", {"past_due": timer.past_due})


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer")
@app.durable_client_input(client_name="client")
async def yearly_flow(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    instance_id = await client.start_new("greeting_flow", None, "timer")
    record("yearly_flow", {"instance_id": instance_id})


# ---- Event Grid --------------------------------------------------------------------------------------
@app.event_grid_trigger(arg_name="event")
def on_event(event: func.EventGridEvent) -> None:
    data = event.get_json()
    if isinstance(data, dict) and data.get("fail"):
        raise ValueError("event asked to fail")
    if isinstance(event, func.EventGridEvent):
        entry = {"schema": "eventgrid", "id": event.id, "type": event.event_type, "subject": event.subject}
    else:
        entry = {"schema": "cloudevents", "id": event.id, "type": event.type, "subject": event.subject}
    record("events", {**entry, "data": data})
