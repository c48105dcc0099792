"""Users, permissions and tokens in PostgreSQL."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass

from crashline.common.database import Database
from crashline.webapp.auth import passwords, tokens
from crashline.webapp.auth.audit import record
from crashline.webapp.auth.principal import PERMISSIONS, Principal
from crashline.webapp.auth.sessions import end_sessions
from crashline.webapp.auth.tokencache import CachedToken, TokenCache

# How often a cached token's last_used_at is written (a lookup writes it per minute too).
TOUCH_SECONDS = 60.0


class AccountError(Exception):
    """A request the account store cannot honour (unknown user, bad permission, ...)."""


class TokenRejected(Exception):
    """An ``Auth-Token`` that does not authenticate; the message is the reference's."""


NOT_MATCHED = "API Token not matched"
EXPIRED = "API Token found but expired"
INACTIVE = "User of API token not active"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    email: str | None
    is_active: bool
    permissions: frozenset[str]
    created_at: dt.datetime
    last_login: dt.datetime | None


@dataclass(frozen=True)
class Token:
    id: int
    username: str
    key_prefix: str
    notes: str
    permissions: frozenset[str]
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None

    def expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires_at <= (now or dt.datetime.now(dt.UTC))


def _new_hash(password: str) -> str:
    try:
        passwords.check_new_password(password)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    return passwords.hash_password(password)


def check_permissions(names: Iterable[str]) -> frozenset[str]:
    names = frozenset(names)
    unknown = sorted(names - set(PERMISSIONS))
    if unknown:
        raise AccountError(f"unknown permission(s): {', '.join(unknown)}; "
                           f"known: {', '.join(PERMISSIONS)}")
    return names


class AccountStore:
    """Every change takes an ``actor`` (a username, or ``cli:<user>``): when given, the
    change is written to the audit log in its own transaction."""

    def __init__(self, db: Database, token_cache: TokenCache | None = None):
        self.db = db
        self.token_cache = token_cache

    # -- users --------------------------------------------------------------------------
    def create_user(self, username: str, password: str | None = None, email: str | None = None,
                    permissions: Iterable[str] = (), *, actor: str | None = None) -> User:
        username = username.strip()
        if not username or len(username) > 150 or not username.isprintable():
            raise AccountError("a username has 1 to 150 printable characters")
        perms = check_permissions(permissions)
        password_hash = _new_hash(password) if password else None
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO users (username, email, password_hash) VALUES (%s, %s, %s) "
                        "ON CONFLICT (username) DO NOTHING RETURNING id",
                        (username, email, password_hash))
            row = cur.fetchone()
            if row is None:
                raise AccountError(f"user {username!r} exists already")
            for perm in sorted(perms):
                cur.execute("INSERT INTO user_permissions (user_id, permission) VALUES (%s, %s)",
                            (row["id"], perm))
            if actor:
                record(cur, actor, "user.create", username, permissions=sorted(perms),
                       password=password_hash is not None)
        return self.get_user(username)

    _USER_SELECT = (
        "SELECT u.id, u.username, u.email, u.is_active, u.created_at, u.last_login, "
        "  coalesce(array_agg(p.permission) FILTER (WHERE p.permission IS NOT NULL), "
        "           '{}') AS permissions "
        "FROM users u LEFT JOIN user_permissions p ON p.user_id = u.id ")

    @staticmethod
    def _user(row) -> User:
        return User(row["id"], row["username"], row["email"], row["is_active"],
                    frozenset(row["permissions"]), row["created_at"], row["last_login"])

    def get_user(self, username: str) -> User:
        rows = self.db.fetch_all(self._USER_SELECT + "WHERE u.username = %s GROUP BY u.id",
                                 (username,))
        if not rows:
            raise AccountError(f"no user {username!r}")
        return self._user(rows[0])

    def list_users(self) -> list[User]:
        return [self._user(row) for row in self.db.fetch_all(
            self._USER_SELECT + "GROUP BY u.id ORDER BY u.username")]

    def set_password(self, username: str, password: str, *, actor: str | None = None,
                     keep_session: str | None = None) -> None:
        """A new password; every session of the user ends but ``keep_session`` (a hash)."""
        password_hash = _new_hash(password)
        with self.db.transaction() as cur:
            user_id = self._update_user(cur, username, "password_hash = %s", password_hash)
            end_sessions(cur, user_id, keep=keep_session)
            if actor:
                record(cur, actor, "user.password", username)

    def set_active(self, username: str, active: bool, *, actor: str | None = None) -> None:
        """(De)activate a user; deactivation ends their sessions at once (their tokens stop
        working too: tokens of inactive users are refused)."""
        with self.db.transaction() as cur:
            user_id = self._update_user(cur, username, "is_active = %s", active)
            if not active:
                end_sessions(cur, user_id)
            if actor:
                record(cur, actor, "user.activate" if active else "user.deactivate", username)

    @staticmethod
    def _update_user(cur, username: str, assignment: str, value: object) -> int:
        cur.execute(f"UPDATE users SET {assignment} WHERE username = %s RETURNING id",
                    (value, username))
        row = cur.fetchone()
        if row is None:
            raise AccountError(f"no user {username!r}")
        return row["id"]

    def permission_descriptions(self) -> dict[str, str]:
        return {row["name"]: row["description"]
                for row in self.db.fetch_all("SELECT name, description FROM permissions")}

    def administrators(self) -> list[str]:
        """Usernames of the active users with ``admin`` (whom to ask for permissions)."""
        return [row["username"] for row in self.db.fetch_all(
            "SELECT u.username FROM users u JOIN user_permissions p ON p.user_id = u.id "
            "WHERE p.permission = 'admin' AND u.is_active ORDER BY u.username")]

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user with this password, or None."""
        with self.db.transaction() as cur:
            cur.execute("SELECT password_hash, is_active FROM users WHERE username = %s",
                        (username,))
            row = cur.fetchone()
        if row is None or not row["is_active"]:
            passwords.verify_password(None, password)
            return None
        if not passwords.verify_password(row["password_hash"], password):
            return None
        if passwords.needs_rehash(row["password_hash"]):
            with self.db.transaction() as cur:
                self._update_user(cur, username, "password_hash = %s",
                                  passwords.hash_password(password))
        with self.db.transaction() as cur:
            cur.execute("UPDATE users SET last_login = now() WHERE username = %s", (username,))
        return self.get_user(username)

    def grant(self, username: str, permissions: Iterable[str], *,
              actor: str | None = None) -> User:
        perms = check_permissions(permissions)
        user = self.get_user(username)
        with self.db.transaction() as cur:
            for perm in sorted(perms):
                cur.execute("INSERT INTO user_permissions (user_id, permission) VALUES (%s, %s) "
                            "ON CONFLICT DO NOTHING", (user.id, perm))
            if actor and perms:
                record(cur, actor, "user.grant", username, permissions=sorted(perms))
        return self.get_user(username)

    def revoke(self, username: str, permissions: Iterable[str], *,
               actor: str | None = None) -> User:
        """Take permissions from a user and from every token of that user."""
        perms = sorted(check_permissions(permissions))
        user = self.get_user(username)
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM user_permissions WHERE user_id = %s AND permission = ANY(%s)",
                        (user.id, perms))
            cur.execute("DELETE FROM api_token_permissions WHERE permission = ANY(%s) AND "
                        "token_id IN (SELECT id FROM api_tokens WHERE user_id = %s)",
                        (perms, user.id))
            if actor and perms:
                record(cur, actor, "user.revoke", username, permissions=perms)
        return self.get_user(username)

    # -- tokens -------------------------------------------------------------------------
    def create_token(self, username: str, permissions: Iterable[str] = (), days: int = 90,
                     notes: str = "", now: dt.datetime | None = None, *,
                     actor: str | None = None) -> tuple[str, Token]:
        """A new token; returns its key (shown once, never stored) and its record."""
        perms = check_permissions(permissions)
        user = self.get_user(username)
        beyond = sorted(perms - user.permissions)
        if beyond:
            raise AccountError(f"{username} does not have {', '.join(beyond)}; a token carries "
                               "a subset of its owner's permissions")
        if len(notes) > 2000:
            raise AccountError("notes have at most 2000 characters")
        if days < 1:
            raise AccountError("a token lives at least one day")
        key = tokens.new_key()
        expires = (now or dt.datetime.now(dt.UTC)) + dt.timedelta(days=days)
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO api_tokens (user_id, key_hash, key_prefix, notes, expires_at) "
                        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                        (user.id, tokens.hash_key(key), key[:tokens.PREFIX_CHARS], notes, expires))
            token_id = cur.fetchone()["id"]
            for perm in sorted(perms):
                cur.execute("INSERT INTO api_token_permissions (token_id, permission) "
                            "VALUES (%s, %s)", (token_id, perm))
            if actor:
                record(cur, actor, "token.create", f"token {token_id} of {username}",
                       permissions=sorted(perms), days=days)
        return key, self.get_token(token_id)

    _TOKEN_SELECT = (
        "SELECT t.id, u.username, t.key_prefix, t.notes, t.created_at, t.expires_at, "
        "  t.last_used_at, coalesce(array_agg(p.permission) FILTER "
        "  (WHERE p.permission IS NOT NULL), '{}') AS permissions "
        "FROM api_tokens t JOIN users u ON u.id = t.user_id "
        "LEFT JOIN api_token_permissions p ON p.token_id = t.id ")

    @staticmethod
    def _token(row) -> Token:
        return Token(row["id"], row["username"], row["key_prefix"], row["notes"],
                     frozenset(row["permissions"]), row["created_at"], row["expires_at"],
                     row["last_used_at"])

    def get_token(self, token_id: int) -> Token:
        rows = self.db.fetch_all(self._TOKEN_SELECT + "WHERE t.id = %s GROUP BY t.id, u.username",
                                 (token_id,))
        if not rows:
            raise AccountError(f"no token {token_id}")
        return self._token(rows[0])

    def list_tokens(self, username: str | None = None) -> list[Token]:
        where, args = ("WHERE u.username = %s ", (username,)) if username else ("", ())
        return [self._token(row) for row in self.db.fetch_all(
            self._TOKEN_SELECT + where + "GROUP BY t.id, u.username ORDER BY t.id", args)]

    def delete_token(self, token_id: int, *, owner: str | None = None,
                     actor: str | None = None) -> None:
        """Delete a token (only if ``owner`` owns it, when given)."""
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM api_tokens t USING users u WHERE t.id = %s AND "
                        "u.id = t.user_id AND (%s::text IS NULL OR u.username = %s) "
                        "RETURNING u.username", (token_id, owner, owner))
            row = cur.fetchone()
            if row is None:
                raise AccountError(f"no token {token_id}")
            if actor:
                record(cur, actor, "token.revoke", f"token {token_id} of {row['username']}")

    def resolve_token(self, key: str, now: dt.datetime | None = None,
                      generation: int | None = None) -> Principal:
        """The caller a key stands for, or :class:`TokenRejected`.

        The permissions are the token's, limited to what the owner still has. With the
        accounts' ``generation`` this request read (see auth/tokencache.py), a token resolved
        under the same generation is answered from memory.
        """
        if not tokens.looks_like_key(key):
            raise TokenRejected(NOT_MATCHED)
        digest = tokens.hash_key(key)
        cache = self.token_cache
        if cache is not None and generation is not None:
            entry = cache.get(digest, generation, now)
            if entry is not None:
                if time.monotonic() - entry.touched_at > TOUCH_SECONDS:
                    entry.touched_at = time.monotonic()
                    self._touch(entry.principal.token_id)
                return entry.principal
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT t.id, t.expires_at, u.id AS user_id, u.username, u.is_active, "
                "  coalesce(array_agg(tp.permission) FILTER (WHERE up.permission IS NOT NULL), "
                "           '{}') AS permissions "
                "FROM api_tokens t JOIN users u ON u.id = t.user_id "
                "LEFT JOIN api_token_permissions tp ON tp.token_id = t.id "
                "LEFT JOIN user_permissions up "
                "  ON up.user_id = u.id AND up.permission = tp.permission "
                "WHERE t.key_hash = %s GROUP BY t.id, u.id", (digest,))
            row = cur.fetchone()
            if row is None:
                raise TokenRejected(NOT_MATCHED)
            if row["expires_at"] <= (now or dt.datetime.now(dt.UTC)):
                raise TokenRejected(EXPIRED)
            if not row["is_active"]:
                raise TokenRejected(INACTIVE)
            self._touch(row["id"], cur)
        principal = Principal(row["user_id"], row["username"], frozenset(row["permissions"]),
                              row["id"])
        if cache is not None and generation is not None:
            # Read before this lookup: a change in between only makes the entry miss sooner.
            cache.put(digest, CachedToken(principal, row["expires_at"], generation,
                                          time.monotonic()))
        return principal

    def cached_user(self, key: str) -> int | None:
        """The user a key stood for when last resolved here (no lookup, no check): the rate
        limiter counts that user in the same statement as the request's address."""
        if self.token_cache is None or not tokens.looks_like_key(key):
            return None
        entry = self.token_cache.peek(tokens.hash_key(key))
        return entry.principal.user_id if entry is not None else None

    def _touch(self, token_id: int, cur=None) -> None:
        """last_used_at, per minute at most, so busy tokens do not write on every request."""
        sql = ("UPDATE api_tokens SET last_used_at = now() WHERE id = %s AND "
               "(last_used_at IS NULL OR last_used_at < now() - interval '1 minute')")
        if cur is not None:
            cur.execute(sql, (token_id,))
            return
        with self.db.transaction() as own:
            own.execute(sql, (token_id,))
