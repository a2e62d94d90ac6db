"""Doors in front of FastAPI for the most frequent requests.

Each calls the very behaviour the routes call; only the way in is cheaper.
"""
