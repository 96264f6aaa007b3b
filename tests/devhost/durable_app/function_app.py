"""Test function app for devhost's durable engine: one orchestrator per feature, tiny activities.

Activities record what they saw in module-level dictionaries (in-process tests) or append lines to a
file named in their input (subprocess tests), so tests can count how often each one really ran.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df

app = df.DFApp()

ATTEMPTS: dict[str, int] = {}
RECORDED: dict[str, list[Any]] = {}


class BackoffRetryOptions(df.RetryOptions):  # type: ignore[misc]
    """RetryOptions with the extension's full schema (backoff, max interval, retry timeout)."""

    def __init__(
        self,
        first_ms: int,
        max_attempts: int,
        *,
        backoff: float = 1.0,
        max_interval_ms: int | None = None,
        timeout_ms: int | None = None,
    ) -> None:
        super().__init__(first_ms, max_attempts)
        self.extra = {
            "backoffCoefficient": backoff,
            "maxRetryIntervalInMilliseconds": max_interval_ms,
            "retryTimeoutInMilliseconds": timeout_ms,
        }

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = super().to_json()
        body.update({k: v for k, v in self.extra.items() if v is not None})
        return body


# ---- activities --------------------------------------------------------------------------------------
@app.activity_trigger(input_name="value")
def add_one(value: int) -> int:
    return value + 1


@app.activity_trigger(input_name="value")
def square(value: int) -> int:
    return value * value


@app.activity_trigger(input_name="value")
async def async_double(value: int) -> int:
    await asyncio.sleep(0)
    return value * 2


@app.activity_trigger(input_name="message")
def fail(message: str) -> None:
    raise ValueError(message)


@app.activity_trigger(input_name="payload")
def flaky(payload: dict[str, Any]) -> str:
    """Fails the first `failures` times it runs for `key`, then succeeds."""
    key = payload["key"]
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    time.sleep(payload.get("sleep", 0))
    if ATTEMPTS[key] <= payload["failures"]:
        raise RuntimeError(f"transient: attempt {ATTEMPTS[key]} of {key} failed")
    return f"ok after {ATTEMPTS[key]}"


@app.activity_trigger(input_name="payload")
def record(payload: dict[str, Any]) -> dict[str, Any]:
    RECORDED.setdefault(payload["key"], []).append(payload)
    return payload


@app.activity_trigger(input_name="payload")
def slow_step(payload: dict[str, Any]) -> int:
    """Appends one line to a file per run (the side effect the crash test counts), then sleeps."""
    with Path(payload["log"]).open("a", encoding="utf-8") as handle:
        handle.write(f"{payload['step']}\n")
    time.sleep(payload.get("sleep", 0.3))
    return int(payload["step"])


@app.activity_trigger(input_name="value")
def noop(value: Any) -> Any:
    return value


# ---- orchestrators -----------------------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    args = context.get_input()
    value = args["start"]
    for _ in range(args["steps"]):
        value = yield context.call_activity("add_one", value)
    doubled = yield context.call_activity("async_double", value)
    return doubled


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    count = context.get_input()
    results = yield context.task_all([context.call_activity("square", i) for i in range(count)])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def race(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    seconds = context.get_input()
    approval = context.wait_for_external_event("approve")
    timeout = context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
    winner = yield context.task_any([approval, timeout])
    if winner == approval:
        timeout.cancel()
        return {"winner": "event", "data": approval.result}
    return {"winner": "timer"}


@app.orchestration_trigger(context_name="context")
def retrying(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    args = context.get_input()
    options = BackoffRetryOptions(
        args["first_ms"],
        args["attempts"],
        backoff=args.get("backoff", 1.0),
        max_interval_ms=args.get("max_ms"),
        timeout_ms=args.get("timeout_ms"),
    )
    result = yield context.call_activity_with_retry("flaky", options, args)
    return result


@app.orchestration_trigger(context_name="context")
def catching(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    try:
        yield context.call_activity("fail", context.get_input())
    except Exception as exc:
        return f"caught: {exc}"
    return "not reached"


@app.orchestration_trigger(context_name="context")
def unhandled(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    yield context.call_activity("add_one", 1)
    yield context.call_activity("fail", context.get_input())
    return "not reached"


@app.orchestration_trigger(context_name="context")
def flaky_child(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    result = yield context.call_activity("flaky", context.get_input())
    return result


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    key = context.get_input()
    first = context.call_sub_orchestrator("chain", {"start": 0, "steps": 2})
    second = context.call_sub_orchestrator(
        "chain", {"start": 10, "steps": 1}, f"{context.instance_id}-second"
    )
    results = yield context.task_all([first, second])
    options = df.RetryOptions(100, 3)
    retried = yield context.call_sub_orchestrator_with_retry(
        "flaky_child", options, {"key": key, "failures": 1}
    )
    return {"chains": results, "retried": retried}


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    state = context.get_input()
    total = yield context.call_activity("add_one", state["total"])
    if state["round"] < state["rounds"]:
        context.set_custom_status({"round": state["round"]})
        context.continue_as_new({"round": state["round"] + 1, "rounds": state["rounds"], "total": total})
        return None
    return {"rounds": state["round"], "total": total}


@app.orchestration_trigger(context_name="context")
def waiter(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    context.set_custom_status({"stage": "waiting"})
    first = yield context.wait_for_external_event("first")
    context.set_custom_status({"stage": "got first"})
    second = yield context.wait_for_external_event("second")
    context.set_custom_status({"stage": "done"})
    return [first, second]


@app.orchestration_trigger(context_name="context")
def deterministic(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    seen = {
        "key": context.instance_id,
        "now": context.current_utc_datetime.isoformat(),
        "uuid": context.new_uuid(),
    }
    yield context.call_activity("record", seen)
    yield context.call_activity("record", seen)
    return seen


@app.orchestration_trigger(context_name="context")
def slow_chain(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    args = context.get_input()
    done = []
    for step in range(args["steps"]):
        payload = {"log": args["log"], "step": step, "sleep": args.get("sleep", 0.3)}
        done.append((yield context.call_activity("slow_step", payload)))
    return done


@app.orchestration_trigger(context_name="context")
def noop_chain(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    for step in range(context.get_input()):
        yield context.call_activity("noop", step)
    return "done"


@app.orchestration_trigger(context_name="context")
def noop_fan(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    results = yield context.task_all([context.call_activity("noop", i) for i in range(context.get_input())])
    return len(results)


@app.orchestration_trigger(context_name="context")
def fan_retry(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Retried and plain tasks side by side: retry timers and attempts interleave with new tasks."""
    key = context.get_input()
    options = df.RetryOptions(20, 3)
    retried = [
        context.call_activity_with_retry("flaky", options, {"key": f"{key}-{i}", "failures": i % 3})
        for i in range(6)
    ]
    plain = [context.call_activity("add_one", i) for i in range(3)]
    results = yield context.task_all(retried + plain)
    later = yield context.call_activity_with_retry("flaky", options, {"key": f"{key}-later", "failures": 1})
    return [*results, later]


@app.orchestration_trigger(context_name="context")
def replay_probe(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Returns is_replaying as seen at each step of the final episode."""
    seen = [context.is_replaying]
    yield context.call_activity("add_one", 1)
    seen.append(context.is_replaying)
    yield context.call_activity("add_one", 2)
    seen.append(context.is_replaying)
    return seen


@app.orchestration_trigger(context_name="context")
def checkpoints(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Listen once for ``preempt`` (a timer due now wins the first wait), then run steps and read
    ``is_completed`` after each: the deployment plans' checkpoint pattern (orchestrators/deploy_steps.py)."""
    args = context.get_input()
    preempt = context.wait_for_external_event("preempt")
    yield context.task_any([preempt, context.create_timer(context.current_utc_datetime)])
    seen = []
    for step in range(args["steps"]):
        yield context.call_activity("slow_step", {"log": args["log"], "step": step, "sleep": args["sleep"]})
        seen.append(preempt.is_completed)
        if preempt.is_completed:
            return {"stopped_after": step, "by": preempt.result, "seen": seen}
    return {"stopped_after": None, "seen": seen}
