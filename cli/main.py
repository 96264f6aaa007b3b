"""drctl, the operator command line: ``main`` runs it (the console script; ``python -m cli``).

The commands live in cli/reads.py (status, runs, run, why, report, releases) and cli/operations.py (the
starts and the answers) and cli/incidents.py (incidents, incident); exit codes in cli/outcome.py.
"""

from __future__ import annotations

from cli import incidents, operations, reads
from cli.core import app

COMMANDS = (reads, operations, incidents)  # importing them registers their commands on ``app``


def main() -> None:
    app()
