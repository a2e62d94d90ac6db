"""Storage and configuration: the event store, its recorders, settings."""
