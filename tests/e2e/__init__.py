"""The real ``shipments serve`` process, driven over HTTP like a user would."""
