"""What ``import function_app`` loads: the blueprints and the decision code, no adapter and no SDK.

The adapter modules (shared/azure/*, shared/notify.py) are imported on first use, on an activity thread;
they must therefore import no SDK at module level, where it would run outside the SDK import lock, and
must import one another without cycles (two threads importing a cycle from both ends can deadlock).
The import checks run in a fresh interpreter, so modules loaded by other tests do not count.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDK = ("azure.core", "azure.identity", "azure.mgmt", "azure.keyvault", "azure.storage", "azure.eventgrid")
SDK += ("azure.monitor", "psycopg")


def _modules_after(code: str) -> list[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_app_loads_no_adapter_module() -> None:
    loaded = _modules_after("import function_app")
    assert {"triggers.operations_api", "shared.policy", "orchestrators.toolkit"} <= set(loaded)
    adapters = [m for m in loaded if m.startswith("shared.azure.") or m == "shared.notify"]
    assert adapters == ["shared.azure.runtime"]


def test_adapter_modules_import_no_sdk_at_module_level() -> None:
    adapters = sorted(p.stem for p in (ROOT / "shared" / "azure").glob("*.py") if p.stem != "__init__")
    assert len(adapters) > 5
    code = "\n".join(f"import shared.azure.{name}" for name in adapters) + "\nimport shared.notify"
    loaded = _modules_after(code)
    assert "shared.azure.clients" in loaded
    assert [m for m in loaded if m.startswith(SDK)] == []


def _shared_imports(module: str) -> set[str]:
    """The shared.* modules a module imports at its top level."""
    tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text())
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shared"):
            package = node.module in ("shared", "shared.azure")
            found |= {f"{node.module}.{a.name}" for a in node.names} if package else {node.module}
    return {m for m in found if (ROOT / (m.replace(".", "/") + ".py")).exists()}


def test_adapter_modules_import_one_another_without_cycles() -> None:
    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        for imported in _shared_imports(module):
            visit(imported, (*path, module))

    for p in (ROOT / "shared" / "azure").glob("*.py"):
        visit(f"shared.azure.{p.stem}", ())
    visit("shared.notify", ())
