"""``python -m recorder``: record one meeting (see :mod:`recorder.cli`)."""

from .cli import main

raise SystemExit(main())
