"""A client for the part of Bugzilla's REST API the bug-associations job reads, and the
parser of its crash-signature field."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

import requests

MAX_SIGNATURE_CHARS = 10_000  # what the webapp accepts in a signature parameter


class BugzillaError(Exception):
    """The bug tracker did not answer, or not with what its API promises."""


def find_signatures(text: object) -> set[str]:
    """The signatures of a crash-signature field: each ``[@ signature ]``.

    Signatures hold brackets of their own (``Array<int[3]>``, ``operator[]``), so each one
    ends at the bracket that closes its ``[@``; when a signature's brackets do not balance,
    at the last ``]`` before the next ``[@``. Text outside the markers is ignored."""
    if not isinstance(text, str):
        return set()
    found = set()
    for part in text.split("[@")[1:]:
        depth, end = 1, None
        for i, char in enumerate(part):
            if char == "[":
                depth += 1
            elif char == "]":
                depth -= 1
                if depth == 0:
                    end = i
                    break
        if end is None:
            end = part.rfind("]")
            if end < 0:
                continue
        signature = part[:end].strip()
        if signature and len(signature) <= MAX_SIGNATURE_CHARS and "\x00" not in signature:
            found.add(signature)
    return found


@dataclass(frozen=True)
class Bug:
    id: int
    signatures: frozenset[str]


class Bugzilla:
    """``GET <url>/bug``: the bugs created, or whose crash signatures changed, since a time."""

    PAGE = 1000

    def __init__(self, url: str, api_key: str = "", timeout: float = 60.0,
                 max_bytes: int = 100 * 1024 * 1024, session: requests.Session | None = None):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.session = session or requests.Session()
        if api_key:
            self.session.headers["X-BUGZILLA-API-KEY"] = api_key

    def close(self) -> None:
        self.session.close()

    def changed_since(self, since: dt.datetime) -> Iterator[Bug]:
        params = {
            "chfield": ["[Bug creation]", "cf_crash_signature"],
            "chfieldfrom": since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "chfieldto": "Now",
            "include_fields": "id,cf_crash_signature",
            "limit": self.PAGE,
        }
        offset = 0
        while True:
            bugs = self._get("bug", {**params, "offset": offset}).get("bugs")
            if not isinstance(bugs, list):
                raise BugzillaError(f"{self.url}/bug answered without a list of bugs")
            for bug in bugs:
                if not isinstance(bug, dict) or not _is_bug_id(bug.get("id")):
                    raise BugzillaError(f"{self.url}/bug answered a bug without an id: "
                                        f"{str(bug)[:200]}")
                yield Bug(bug["id"], frozenset(find_signatures(bug.get("cf_crash_signature"))))
            if len(bugs) < self.PAGE:
                return
            offset += len(bugs)

    def _get(self, path: str, params: dict) -> dict:
        url = f"{self.url}/{path}"
        try:
            with self.session.get(url, params=params, timeout=self.timeout,
                                  stream=True) as response:
                if response.status_code != 200:
                    raise BugzillaError(f"{url} answered HTTP {response.status_code}: "
                                        f"{response.text[:300]}")
                body = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise BugzillaError(f"{url} answered more than {self.max_bytes} bytes")
        except requests.RequestException as exc:
            raise BugzillaError(f"{url} does not answer: {exc}") from exc
        try:
            document = json.loads(bytes(body))
        except ValueError as exc:
            raise BugzillaError(f"{url} answered something that is not JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise BugzillaError(f"{url} answered JSON that is not an object")
        if document.get("error"):
            raise BugzillaError(f"{url} answered an error: {document.get('message')}")
        return document


def _is_bug_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63
