"""``python -m recorder``: record one meeting (see :mod:`recorder.cli`)."""

from recorder.cli import main

raise SystemExit(main())
