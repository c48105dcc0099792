"""Password hashing with Argon2id (argon2-cffi's defaults follow RFC 9106)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Checked against when there is no real hash (an unknown or inactive user, a user without a
# password), so that a failed sign-in costs the same time whether the user exists or not.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
MIN_LENGTH = 10


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("the password is empty")
    return _hasher.hash(password)


def check_new_password(password: str) -> None:
    """Raise ValueError saying why ``password`` may not be set."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password has at least {MIN_LENGTH} characters")
    if len(password) > 1024:
        raise ValueError("a password has at most 1024 characters")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; an Argon2 verification is paid in every case."""
    if not password_hash:
        _verify(_DUMMY_HASH, password)
        return False
    return _verify(password_hash, password) and bool(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
