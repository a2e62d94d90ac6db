"""Test support: stores, servers and HTTP helpers shared by the suites."""
