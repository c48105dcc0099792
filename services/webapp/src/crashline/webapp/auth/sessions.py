"""Sign-in sessions, kept server-side in PostgreSQL.

The browser holds a random session id in a secure, HttpOnly, SameSite cookie; the table
holds only its SHA-256, so neither a database leak nor a log line can be replayed as a
session. Every request looks the session up with its user (active users only) and their
current permissions, so signing out, deactivation or a revoked permission takes effect on
the next request. A session's expiry slides with use, up to a hard limit.

Forms of a signed-in user carry a CSRF token derived from the session id (a one-way
function of it: the token shown in pages gives nothing to replay as a session).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import falcon

from crashline.common.database import Database
from crashline.webapp.auth.principal import Principal

ID_BYTES = 32
# The expiry and the last-seen time are written at most this often per session.
TOUCH_INTERVAL = dt.timedelta(minutes=1)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def id_hash(session_id: str) -> str:
    return _digest("session", session_id)


def csrf_token_of(session_id: str) -> str:
    return _digest("csrf", session_id)


@dataclass(frozen=True)
class Session:
    id_hash: str
    user_id: int
    csrf_token: str
    expires_at: dt.datetime


def end_sessions(cur, user_id: int, keep: str | None = None) -> int:
    """Sign a user out everywhere (but the session whose hash is ``keep``), in the caller's
    transaction; how many sessions ended."""
    cur.execute("DELETE FROM web_sessions WHERE user_id = %s AND id_hash IS DISTINCT FROM %s",
                (user_id, keep))
    return cur.rowcount


class SessionStore:
    def __init__(self, db: Database, idle: dt.timedelta, lifetime: dt.timedelta):
        self.db = db
        self.idle = idle
        self.lifetime = lifetime

    def create(self, user_id: int) -> str:
        """A new session for the user; its id (for the cookie only: it is stored hashed)."""
        session_id = secrets.token_urlsafe(ID_BYTES)
        with self.db.transaction() as cur:
            # Expired sessions go whenever someone signs in: no job is needed for them.
            cur.execute("DELETE FROM web_sessions WHERE expires_at < now()")
            cur.execute("INSERT INTO web_sessions (id_hash, user_id, expires_at) "
                        "VALUES (%s, %s, now() + %s)",
                        (id_hash(session_id), user_id, min(self.idle, self.lifetime)))
        return session_id

    def resolve(self, session_id: str) -> tuple[Principal, Session] | None:
        """The signed-in user of a live session and their current permissions, or None."""
        if not session_id or len(session_id) > 128:
            return None
        hashed = id_hash(session_id)
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT s.user_id, s.created_at, s.last_seen_at, s.expires_at, u.username, "
                "  coalesce(array_agg(p.permission) FILTER (WHERE p.permission IS NOT NULL), "
                "           '{}') AS permissions "
                "FROM web_sessions s JOIN users u ON u.id = s.user_id "
                "LEFT JOIN user_permissions p ON p.user_id = u.id "
                "WHERE s.id_hash = %s AND s.expires_at > now() AND u.is_active "
                "GROUP BY s.id_hash, u.id", (hashed,))
            row = cur.fetchone()
            if row is None:
                return None
            expires = row["expires_at"]
            if row["last_seen_at"] < dt.datetime.now(dt.UTC) - TOUCH_INTERVAL:
                cur.execute(
                    "UPDATE web_sessions SET last_seen_at = now(), "
                    "expires_at = least(created_at + %s, now() + %s) WHERE id_hash = %s "
                    "RETURNING expires_at", (self.lifetime, self.idle, hashed))
                expires = cur.fetchone()["expires_at"]
        principal = Principal(row["user_id"], row["username"], frozenset(row["permissions"]))
        return principal, Session(hashed, row["user_id"], csrf_token_of(session_id), expires)

    def delete(self, session_id: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM web_sessions WHERE id_hash = %s", (id_hash(session_id),))

    def count(self, user_id: int) -> int:
        [row] = self.db.fetch_all("SELECT count(*) AS n FROM web_sessions WHERE user_id = %s "
                                  "AND expires_at > now()", (user_id,))
        return row["n"]


class Cookies:
    """The cookies the webapp sets: secure (the ``__Host-`` prefix binds them to this host
    and path /), HttpOnly, SameSite=Lax for the session (a link from elsewhere arrives
    signed in; cross-site POSTs do not carry it) and Strict for the sign-in form's token."""

    def __init__(self, secure: bool):
        self.secure = secure
        prefix = "__Host-" if secure else ""
        self.session = f"{prefix}crashline_session"
        self.login_csrf = f"{prefix}crashline_login_csrf"

    def _set(self, resp: falcon.Response, name: str, value: str, max_age: int | None,
             same_site: str) -> None:
        resp.set_cookie(name, value, max_age=max_age, path="/", secure=self.secure,
                        http_only=True, same_site=same_site)

    def set_session(self, resp: falcon.Response, session_id: str) -> None:
        # No max-age: the server decides when a session ends; the browser forgets it when
        # it closes at the latest.
        self._set(resp, self.session, session_id, None, "Lax")

    def clear_session(self, resp: falcon.Response) -> None:
        self._set(resp, self.session, "", 0, "Lax")

    def set_login_csrf(self, resp: falcon.Response, token: str) -> None:
        self._set(resp, self.login_csrf, token, 3600, "Strict")

    def clear_login_csrf(self, resp: falcon.Response) -> None:
        self._set(resp, self.login_csrf, "", 0, "Strict")

    @staticmethod
    def read(req: falcon.Request, name: str) -> str | None:
        values = req.get_cookie_values(name)
        return values[0] if values else None
