"""The shipment domain: pure business rules, no I/O, no HTTP, no SQL."""
