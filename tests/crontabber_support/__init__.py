"""Helpers for the crontabber's tests."""

from __future__ import annotations

from crashline.crontabber.settings import CrontabberSettings


def settings_from_env(env: dict[str, str], **overrides) -> CrontabberSettings:
    """The settings a crontabber started with ``env`` would have."""
    values = {k.removeprefix("CRASHLINE_").lower(): v for k, v in env.items()
              if k.startswith("CRASHLINE_")}
    return CrontabberSettings(**{**values, **overrides})
