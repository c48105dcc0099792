"""SQL migrations: ``migrations/NNNN_name.sql`` applied in order, each in its own transaction,
recorded in ``schema_migrations``. Safe to run twice and from several processes at once (an
advisory lock serialises runners).

Numbering: 0001-0099 foundation, 0100s collector, 0200s processor, 0300s webapp,
0400s crontabber, 0700s symbols, so parallel work never collides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from crashline.common.database.pool import Database

_NAME_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_ID = 0x6372617368  # "crash": one advisory lock for every migration runner


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    folder = resources.files("crashline.common.database") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _NAME_RE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"two migrations share a number: {[m.name for m in found]}")
    return found


_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def _applied(cur) -> set[int]:
    cur.execute(_CREATE_TABLE)
    cur.execute("SELECT version FROM schema_migrations")
    return {row["version"] for row in cur.fetchall()}


def pending_migrations(db: Database) -> list[Migration]:
    with db.transaction() as cur:
        done = _applied(cur)
    return [m for m in available_migrations() if m.version not in done]


def apply_migrations(db: Database) -> list[str]:
    """Apply what is pending; return the names applied (empty when up to date)."""
    applied: list[str] = []
    with db.transaction() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            done = _applied(cur)
            for migration in available_migrations():
                if migration.version in done:
                    continue
                cur.execute("SAVEPOINT migration")
                cur.execute(migration.sql)
                cur.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
                cur.execute("RELEASE SAVEPOINT migration")
                applied.append(migration.name)
        finally:
            cur.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied
