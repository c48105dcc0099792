"""Helpers for the crontabber's tests."""
