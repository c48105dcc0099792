"""Crashline crontabber service."""
