"""Crashline collector service."""
