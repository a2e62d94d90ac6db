"""The HTTP app: the FastAPI factory, its routes, and the HTTP rules of the resource."""
