"""``python -m boostr ...``: the same command line as ``boostr``."""

from boostr.cli import main

raise SystemExit(main())
