"""Helpers for the crontabber's tests."""

from __future__ import annotations

from crashline.crontabber.settings import CrontabberSettings


def settings_from_env(env: dict[str, str], **overrides) -> CrontabberSettings:
    """The settings a crontabber started with ``env`` would have."""
    values = {k.removeprefix("CRASHLINE_").lower(): v for k, v in env.items()
              if k.startswith("CRASHLINE_")}
    return CrontabberSettings(**{**values, **overrides})


def namespaced(env: dict[str, str], name: str, database_url: str,
               storage_path: str) -> dict[str, str]:
    """``env`` with a namespace of its own: its schema, storage folder, and queues and
    indices named after ``name``."""
    return {**env, "CRASHLINE_DATABASE_URL": database_url,
            "CRASHLINE_STORAGE_PATH": storage_path,
            "CRASHLINE_QUEUE_PREFIX": f"{env['CRASHLINE_QUEUE_PREFIX']}-{name}",
            "CRASHLINE_SEARCH_INDEX_TEMPLATE": env["CRASHLINE_SEARCH_INDEX_TEMPLATE"].replace(
                "-%Y%W", f"-{name}-%Y%W")}
