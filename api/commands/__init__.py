"""Sub-commands of the ``shipments`` CLI, one module each (``register(subparsers)``)."""
