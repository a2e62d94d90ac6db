"""Request plumbing every door shares: request ids, the access log, metrics, authentication."""
