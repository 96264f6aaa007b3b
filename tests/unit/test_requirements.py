"""The installs are pinned: constraints.txt holds every package the venv has, and each requirement the
project names is satisfied by the version constraints.txt pins (the Makefile installs with -c it)."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def pins() -> dict[str, Version]:
    found: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not name==version"
            found[canonicalize_name(name)] = Version(version)
    return found


def requirements(name: str) -> list[Requirement]:
    lines = (ROOT / name).read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith(("#", "-r"))]


def test_every_requirement_is_pinned_by_the_constraints_to_a_version_it_allows() -> None:
    pinned = pins()
    for req in requirements("requirements.txt") + requirements("requirements-dev.txt"):
        version = pinned.get(canonicalize_name(req.name))
        assert version is not None, f"{req.name} is not in constraints.txt"
        allowed = req.specifier.contains(version, prereleases=True)
        assert allowed, f"{req.name}: the pin {version} is not {req.specifier}"


def test_the_makefile_installs_with_the_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -r requirements-dev.txt -c constraints.txt" in makefile
