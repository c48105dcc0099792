"""Crashline processor service."""
