"""API token keys: 128 random bits as 32 hex characters (the reference's format), stored only
as their SHA-256 so a database leak reveals no usable key."""

from __future__ import annotations

import hashlib
import re
import secrets

KEY_RE = re.compile(r"^[0-9a-f]{32}$")
PREFIX_CHARS = 6


def new_key() -> str:
    return secrets.token_hex(16)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def looks_like_key(key: str) -> bool:
    return bool(KEY_RE.match(key))
