"""The HTTP contract (API.md) through the ASGI app, on every store."""
