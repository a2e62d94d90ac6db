"""``python -m api.cli``: the ``shipments`` command line."""

from api.cli import main

raise SystemExit(main())
