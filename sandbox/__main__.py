"""Entry point: ``python -m sandbox up|down|status|serve|fault``."""

from __future__ import annotations

import sys

from sandbox.cli import main

sys.exit(main())
