"""``python -m cli``: the same as the ``drctl`` console script."""

from cli.main import main

main()
