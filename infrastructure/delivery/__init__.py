"""Push delivery of the change feed: subscriptions, their store, and what sends to them.

See docs/DESIGN.md, "Push delivery".
"""
