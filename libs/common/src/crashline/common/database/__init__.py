"""PostgreSQL: a connection pool and ordered SQL migrations."""

from crashline.common.database.migrations_runner import apply_migrations, pending_migrations
from crashline.common.database.pool import Database, database_from_settings

__all__ = ["Database", "apply_migrations", "database_from_settings", "pending_migrations"]
