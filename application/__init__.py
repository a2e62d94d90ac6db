"""The use cases: what the service does, below HTTP and above the store.

``api`` maps a request to a command and a result to a response; the use cases
decide, through the ports the infrastructure implements (``application.ports``).
"""
