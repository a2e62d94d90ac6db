"""The shipment console: a browser page, served at ``/ui/``, that reads and writes the API.

For the auditor (who changed a shipment, when, how) and the engineer replaying a
stream; it also shows how a client does optimistic concurrency. Everything it
shows it gets from the public ``/v1`` API, like any other client.
"""
