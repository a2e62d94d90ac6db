"""Benchmarks: the shipment service against a minimal CRUD baseline on the same stack.

Run ``python -m bench.run`` (or ``make bench``); see ``bench/README.md``.
"""
