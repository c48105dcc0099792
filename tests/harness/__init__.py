"""Helpers shared by the tests that run Crashline service processes."""
