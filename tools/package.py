"""``make package``: the deployable zip of the function app, what ``.funcignore`` keeps, with bytecode.

Every file of the repository that ``.funcignore`` does not exclude goes in (function_app.py, host.json,
requirements.txt, triggers/ with the dashboard's files, orchestrators/, activities/, shared/), and next to
each module its compiled bytecode (``__pycache__/<name>.cpython-311.pyc``, unchecked-hash: valid whatever
the file times become when the zip is unpacked or mounted), so a cold start does not compile the app. The
zip holds no secret: ``local.settings.json`` and the key files are excluded.

    python -m tools.package [--out dist/continuity.zip]
"""

from __future__ import annotations

import argparse
import fnmatch
import py_compile
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "dist" / "continuity.zip"
NEVER = (".git", ".venv", "dist", "node_modules", "__pycache__")  # never shipped, whatever .funcignore says


def ignore_patterns(root: Path = ROOT) -> list[str]:
    lines = (root / ".funcignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether ``.funcignore`` (gitignore-style: ``dir/``, globs, names at any depth) excludes a path."""
    parts = relative.split("/")
    for pattern in patterns:
        directory = pattern.endswith("/")
        bare = pattern.rstrip("/").lstrip("/")
        candidates = parts[:-1] if directory else parts
        if fnmatch.fnmatch(relative, bare) or any(fnmatch.fnmatch(p, bare) for p in candidates):
            return True
        if fnmatch.fnmatch(relative, bare + "/*"):
            return True
    return False


def candidates(root: Path) -> list[Path]:
    """The repository's files: those git tracks (no local leftovers), or every file outside git."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True, timeout=60
        ).stdout.decode()
        return sorted({root / name for name in listed.split("\0") if name and (root / name).is_file()})
    except (OSError, subprocess.SubprocessError):
        return sorted(p for p in root.rglob("*") if p.is_file())


def shipped(root: Path = ROOT) -> list[Path]:
    """The files the package holds, sorted (their bytecode is added beside them)."""
    patterns = ignore_patterns(root)
    found = []
    for path in candidates(root):
        relative = path.relative_to(root).as_posix()
        if any(part in NEVER for part in relative.split("/")):
            continue
        if path.suffix == ".pyc" or ignored(relative, patterns):
            continue
        found.append(path)
    return found


def bytecode_name(relative: str) -> str:
    folder, _, name = relative.rpartition("/")
    cached = f"__pycache__/{name[:-3]}.{sys.implementation.cache_tag}.pyc"
    return f"{folder}/{cached}" if folder else cached


def build(out: Path = DEFAULT_OUT, root: Path = ROOT) -> list[str]:
    """Write the zip; returns the names it holds."""
    out.parent.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    with tempfile.TemporaryDirectory() as scratch, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for path in shipped(root):
            relative = path.relative_to(root).as_posix()
            package.write(path, relative)
            names.append(relative)
            if path.suffix == ".py":
                compiled = Path(scratch) / bytecode_name(relative)
                py_compile.compile(
                    str(path),
                    cfile=str(compiled),
                    dfile=relative,
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
                package.write(compiled, bytecode_name(relative))
                names.append(bytecode_name(relative))
    return names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    names = build(args.out)
    modules = sum(1 for n in names if n.endswith(".pyc"))
    size = args.out.stat().st_size / 1024
    print(f"wrote {args.out} ({len(names)} files, {modules} compiled modules, {size:.0f} KiB)")
    print("publish it: see docs/deploy.md (az functionapp deployment source config-zip ...)")


if __name__ == "__main__":
    main()
