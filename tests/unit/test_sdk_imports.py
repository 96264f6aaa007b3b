"""Every lazy SDK import in the adapters is taken under the one import lock.

Activities run on a thread pool; two threads importing azure.core or psycopg for the first time at once
can hit Python's import deadlock detection (``_DeadlockError``). This checks the code, not luck.
"""

from __future__ import annotations

import ast
from pathlib import Path

ADAPTERS = Path(__file__).resolve().parents[2] / "shared" / "azure"
SDK_ROOTS = ("azure", "psycopg")


def _sdk_module(node: ast.AST) -> str | None:
    if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in SDK_ROOTS:
        return node.module
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names if a.name.split(".")[0] in SDK_ROOTS]
        return names[0] if names else None
    return None


def _unlocked_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    found = []
    for node in ast.walk(tree):
        module = _sdk_module(node)
        if module is None or isinstance(parents.get(node), ast.Module):
            continue  # module-level imports are TYPE_CHECKING-only or not SDK
        parent = parents.get(node)
        locked = isinstance(parent, ast.With) and any(
            isinstance(item.context_expr, ast.Name) and item.context_expr.id == "SDK_IMPORT_LOCK"
            for item in parent.items
        )
        if not locked:
            found.append(f"{path.name}:{node.lineno} {module}")
    return found


def test_every_lazy_sdk_import_in_the_adapters_holds_the_import_lock() -> None:
    checked = sorted(ADAPTERS.glob("*.py"))
    assert len(checked) > 5
    assert [bad for p in checked for bad in _unlocked_imports(p)] == []


def test_the_check_sees_an_unlocked_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    from azure.core.credentials import AccessToken\n    return AccessToken\n"
    )
    assert _unlocked_imports(sample) == ["sample.py:2 azure.core.credentials"]
