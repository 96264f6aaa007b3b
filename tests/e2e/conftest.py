"""Fixtures of the end-to-end tests: ``estate_factory(**settings)`` starts a fresh sandbox, a
notification receiver and devhost serving function_app on them, for one scenario (tests/support/e2e.py).

Keyword arguments override app settings (``GRACE_PERIOD_SECONDS="0"`` becomes
``CONTINUITY_GRACE_PERIOD_SECONDS``; ``sandbox_config`` adds sandbox component options, ``host_env`` and
``port`` set the host's own environment and port); short
confirmation and zero grace periods are the defaults here so scenarios run in seconds, and timers never
fire by themselves.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.devhost import ROOT, DevhostFactory
from tests.fixtures.sandbox import SandboxFactory
from tests.support.e2e import FAST_FAILOVER, SANDBOX_CONFIG, Estate, EstateFactory, app_env
from tests.support.receiver import Receiver


@pytest.fixture
def estate_factory(
    sandbox_factory: SandboxFactory, devhost_factory: DevhostFactory
) -> Iterator[EstateFactory]:
    receivers: list[Receiver] = []

    def start(
        sandbox_config: dict[str, object] | None = None,
        host_env: dict[str, str] | None = None,
        port: int = 0,
        **settings: str,
    ) -> Estate:
        sandbox = sandbox_factory(config={**SANDBOX_CONFIG, **(sandbox_config or {})})
        receiver = Receiver()
        receivers.append(receiver)
        env = {**app_env(sandbox, receiver, **{**FAST_FAILOVER, **settings}), **(host_env or {})}
        host = devhost_factory(app="function_app", cwd=ROOT, env=env, port=port)
        return Estate(sandbox, host, receiver, env)

    yield start
    for receiver in receivers:
        receiver.close()
