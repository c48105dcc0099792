"""``crashline migrate``: apply pending database migrations."""

from __future__ import annotations

import argparse
import sys

from crashline.common.database import apply_migrations, database_from_settings, pending_migrations
from crashline.common.database.pool import DatabaseError


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="crashline migrate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="list pending migrations only")
    args = parser.parse_args(argv)
    db = database_from_settings()
    try:
        if args.check:
            names = [m.name for m in pending_migrations(db)]
            print("\n".join(names) if names else "up to date")
            return 1 if names else 0
        names = apply_migrations(db)
    except DatabaseError as exc:
        print(f"crashline migrate: {exc}", file=sys.stderr)
        return 2
    print("\n".join(f"applied {n}" for n in names) if names else "up to date")
    return 0
