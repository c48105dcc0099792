"""Who is calling, and with which permissions."""

from __future__ import annotations

from dataclasses import dataclass

VIEW_PII = "view_pii"
VIEW_RAWDUMP = "view_rawdump"
REPROCESS_CRASHES = "reprocess_crashes"
UPLOAD_SYMBOLS = "upload_symbols"
ADMIN = "admin"
PERMISSIONS = (VIEW_PII, VIEW_RAWDUMP, REPROCESS_CRASHES, UPLOAD_SYMBOLS, ADMIN)


@dataclass(frozen=True)
class Principal:
    user_id: int | None = None
    username: str | None = None
    # With a token these are the token's permissions only, never more than its owner's.
    permissions: frozenset[str] = frozenset()
    token_id: int | None = None

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    def has(self, permission: str) -> bool:
        return permission in self.permissions


ANONYMOUS = Principal()
