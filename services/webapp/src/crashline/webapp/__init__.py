"""Crashline webapp service."""
