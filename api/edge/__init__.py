"""Doors in front of FastAPI's routing for the most frequent requests.

They only route: each calls the behaviour its route calls, inside the same
request pipeline (``api.plumbing.pipeline``), so only the way in is cheaper.
"""
