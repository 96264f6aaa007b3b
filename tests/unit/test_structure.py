"""The house rules, checked on the code itself: no import cycle, triggers/ the outermost layer, small
modules, orchestration code only in orchestrators/, one observation of the primary, test files that import
no other test file."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ("function_app.py", "triggers", "orchestrators", "activities", "shared")
SKIP = (".venv", "node_modules", ".devhost", ".sandbox", ".git")
DURABLE_CALLS = re.compile(r"\.(call_activity|create_timer|task_all|task_any|wait_for_external_event)\(")


def python_files() -> list[Path]:
    return sorted(
        p for p in ROOT.rglob("*.py") if not any(part in SKIP for part in p.relative_to(ROOT).parts)
    )


def module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def in_app(path: Path) -> bool:
    rel = path.relative_to(ROOT)
    return rel.parts[0] in APP or str(rel) in APP


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every repo module ``path`` imports, at any depth of its code (function-local imports count)."""
    found: set[str] = set()
    package = module_of(path) if path.name == "__init__.py" else module_of(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module_of(path):
                found.add(name)
    return found


def test_no_import_cycle_anywhere_in_the_repo() -> None:
    files = [p for p in python_files() if "tests" not in p.relative_to(ROOT).parts[:1]]
    known = {module_of(p) for p in files}
    graph = {module_of(p): imports_of(p, known) for p in files}
    # a package importing its own modules (re-exports) is not a cycle of code: drop package -> child edges
    graph = {m: {i for i in deps if not i.startswith(m + ".")} for m, deps in graph.items()}
    seen: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, "import cycle: " + " -> ".join((*path[path.index(module) :], module))
        if module in seen:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, (*path, module))
        seen.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_only_the_composition_root_and_triggers_import_triggers() -> None:
    """triggers/ is the outermost layer (HTTP, timers, events): the plans, activities and shared code
    never reach up into it."""
    files = [p for p in python_files() if in_app(p)]
    known = {module_of(p) for p in files}
    offenders = [
        f"{p.relative_to(ROOT)} imports {sorted(i for i in imports_of(p, known) if i.startswith('triggers'))}"
        for p in files
        if p.relative_to(ROOT).parts[0] in ("orchestrators", "activities", "shared")
        and any(i == "triggers" or i.startswith("triggers.") for i in imports_of(p, known))
    ]
    assert offenders == []


def test_modules_are_small() -> None:
    for path in python_files():
        lines = len(path.read_text().splitlines())
        limit = 450 if in_app(path) else 600
        assert lines <= limit, f"{path.relative_to(ROOT)} has {lines} lines (limit {limit})"


def test_orchestration_code_lives_only_in_orchestrators() -> None:
    for path in python_files():
        rel = path.relative_to(ROOT)
        if in_app(path) and rel.parts[0] != "orchestrators":
            assert not DURABLE_CALLS.search(path.read_text()), f"{rel} yields Durable tasks"


def test_the_primary_is_decided_in_one_observation() -> None:
    callers = [
        str(p.relative_to(ROOT))
        for p in python_files()
        if in_app(p) and "current_primary(" in p.read_text() and p.parts[-2:] != ("policy", "primary.py")
    ]
    assert callers == ["shared/estate.py"]


def test_test_files_import_no_other_test_file_or_conftest() -> None:
    pattern = re.compile(r"^\s*(from|import) tests\.\S*(\.test_\w+|\.conftest)\b", re.M)
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("*.py") if pattern.search(p.read_text())
    ]
    assert offenders == []
