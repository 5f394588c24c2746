"""``python -m stablelearn``: the same as the ``stablelearn`` command."""

from stablelearn.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
