"""Races and read-your-writes against real server processes, with real concurrency."""
