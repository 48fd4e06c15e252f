"""Fault tests: backing services killed and restarted (each test starts its own)."""
