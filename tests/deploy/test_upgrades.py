"""What the production guide's "Upgrades" promises of the migrations: each one only adds
(tables, indexes, rows, functions and triggers), so the version still running keeps
working while `crashline migrate` runs ahead of the roll. A migration that drops, renames
or rewrites must change that section (and the rollout it describes) first."""

from __future__ import annotations

import re

import pytest
from harness.deployfiles import ROOT

from crashline.common.database.migrations_runner import available_migrations

ADDITIVE = (
    r"CREATE (UNLOGGED )?TABLE IF NOT EXISTS \w+",
    r"CREATE (UNIQUE )?INDEX IF NOT EXISTS \w+ ON \w+",
    r"INSERT INTO \w+",
    r"CREATE OR REPLACE FUNCTION \w+",
    r"CREATE TRIGGER \w+",
    r"ALTER TABLE (IF EXISTS )?\w+ ADD COLUMN IF NOT EXISTS \w+",
)
# A trigger is made idempotent by dropping it first: allowed only right before it is
# created again, on the same table, by the same migration.
DROP_TRIGGER = re.compile(r"DROP TRIGGER IF EXISTS (\w+) ON (\w+)$")
CREATE_TRIGGER = re.compile(r"CREATE TRIGGER (\w+) .* ON (\w+) ")


def statements(sql: str) -> list[str]:
    """The top-level statements of a migration: comments dropped, function bodies ($$...$$)
    left out (what a function does is not what the migration does), whitespace collapsed."""
    sql = re.sub(r"--[^\n]*", "", sql)
    sql = re.sub(r"\$\$.*?\$\$", "$$", sql, flags=re.S)
    return [" ".join(s.split()) for s in sql.split(";") if s.strip()]


def destructive(sql: str) -> list[str]:
    found = []
    listed = statements(sql)
    for i, statement in enumerate(listed):
        drop = DROP_TRIGGER.match(statement)
        if drop:
            after = CREATE_TRIGGER.match(listed[i + 1]) if i + 1 < len(listed) else None
            if not (after and after.groups() == drop.groups()):
                found.append(statement)
        elif not any(re.match(p, statement, re.I) for p in ADDITIVE):
            found.append(statement)
    return found


def test_what_counts_as_destructive():
    assert destructive("CREATE TABLE IF NOT EXISTS a (x int);\n-- DROP TABLE a;\n"
                       "CREATE OR REPLACE FUNCTION f() RETURNS trigger AS $$ BEGIN "
                       "DELETE FROM a; END $$ LANGUAGE plpgsql;\n"
                       "DROP TRIGGER IF EXISTS t ON a;\n"
                       "CREATE TRIGGER t AFTER DELETE ON a EXECUTE FUNCTION f();") == []
    assert destructive("DROP TABLE a;\nALTER TABLE b RENAME COLUMN x TO y;\n"
                       "ALTER TABLE b ALTER COLUMN y TYPE bigint;\n"
                       "DROP TRIGGER IF EXISTS t ON a;\nCREATE TRIGGER t AFTER DELETE ON b "
                       "EXECUTE FUNCTION f();\nDROP TRIGGER IF EXISTS u ON a") == [
        "DROP TABLE a", "ALTER TABLE b RENAME COLUMN x TO y",
        "ALTER TABLE b ALTER COLUMN y TYPE bigint", "DROP TRIGGER IF EXISTS t ON a",
        "DROP TRIGGER IF EXISTS u ON a"]


def test_the_guide_says_it():
    guide = (ROOT / "docs/production.md").read_text()
    upgrades = guide[guide.index("\n## Upgrades\n"):guide.index("\n## Retention and backups\n")]
    assert "Every migration so far only adds" in " ".join(upgrades.split())


@pytest.mark.parametrize("migration", available_migrations(), ids=lambda m: m.name)
def test_every_migration_only_adds(migration):
    assert not destructive(migration.sql), (
        f"{migration.name} is not additive; docs/production.md ('Upgrades') says every "
        f"migration is, so that old pods run on the new schema during a roll")
