"""``python -m stress``: the harness's command line (see :mod:`stress.cli`)."""

from stress.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
