"""Accounts, permissions and API tokens."""
