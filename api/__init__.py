"""The HTTP face of the service: FastAPI app, routers, HTTP rules, the CLI."""
