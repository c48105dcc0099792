"""Links from a stack frame's source file to a source browser.

A frame's ``file`` is either a version-control path, ``hg:<host>/<repo>:<path>:<revision>``
or ``git:<host>/<repo>:<path>:<revision>`` (what symbol files of release builds carry), or a
plain path from the build machine. URL templates (settings) turn them into links, chosen by
the most specific key: ``hg:<host>`` / ``git:<host>``, then ``hg`` / ``git``, and ``path``
for plain paths. Placeholders: ``{root}`` (host and repository), ``{host}``, ``{repo}``,
``{path}``, ``{rev}``, ``{line}``.

Every part of a file name is attacker-controlled: a link is made only when each part has
the shape it should, and the result must be an http(s) URL on the host the template (or,
for version-control paths, the checked root) names.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

PLACEHOLDERS = frozenset({"root", "host", "repo", "path", "rev", "line"})
VCS_KINDS = ("hg", "git")

_ROOT_RE = re.compile(r"^(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::[0-9]{1,5})?)"
                      r"(?:/(?P<repo>[A-Za-z0-9._~+-]+(?:/[A-Za-z0-9._~+-]+)*))?$")
_REV_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


def check_template(key: str, template: str) -> str:
    """The template if usable, else ValueError (used when settings are read)."""
    if not (template.startswith("https://") or template.startswith("http://")):
        raise ValueError(f"source URL template {key!r} must start with http:// or https://")
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    unknown = names - PLACEHOLDERS
    if unknown:
        raise ValueError(f"source URL template {key!r} has unknown placeholders "
                         f"{sorted(unknown)}; known: {sorted(PLACEHOLDERS)}")
    if key == "path" and names & {"root", "host", "repo", "rev"}:
        raise ValueError("the 'path' source URL template can only use {path} and {line}")
    return template


@dataclass(frozen=True)
class SourceFile:
    kind: str          # "hg", "git" or "path"
    path: str
    root: str = ""
    host: str = ""
    repo: str = ""
    rev: str = ""


def parse_source(file: str) -> SourceFile | None:
    """The parts of a frame's file name, or None if it has not the shape of any."""
    if not file or len(file) > 4096 or any(ord(c) < 32 for c in file):
        return None
    kind, sep, rest = file.partition(":")
    if sep and kind in VCS_KINDS:
        root, _, tail = rest.partition(":")
        path, _, rev = tail.rpartition(":")
        match = _ROOT_RE.match(root)
        if not match or not _REV_RE.match(rev) or not _clean_path(path):
            return None
        return SourceFile(kind, _clean_path(path), root, match["host"], match["repo"] or "",
                          rev)
    path = _clean_path(_DRIVE_RE.sub("", file.replace("\\", "/")))
    return SourceFile("path", path) if path else None


def _clean_path(path: str) -> str:
    path = path.strip("/")
    parts = path.split("/")
    if not path or any(part in ("", ".", "..") for part in parts):
        return ""
    return path


class SourceLinks:
    def __init__(self, templates: Mapping[str, str]):
        self.templates = {key: check_template(key, value)
                          for key, value in templates.items() if value}

    def url(self, file: object, line: object = None) -> str | None:
        if not isinstance(file, str):
            return None
        source = parse_source(file)
        if source is None:
            return None
        template = self.templates.get(f"{source.kind}:{source.host}") if source.host else None
        template = template or self.templates.get(source.kind)
        if template is None:
            return None
        line_text = str(line) if isinstance(line, int) and not isinstance(line, bool) else ""
        url = template.format(root=source.root, host=source.host, repo=source.repo,
                              path=quote(source.path, safe="/"), rev=source.rev, line=line_text)
        parts = urlsplit(url)
        template_host = urlsplit(template).netloc
        if "{" in template_host:  # the host comes from the file's root, checked above
            same_host = parts.hostname == source.host.split(":")[0].lower()
        else:
            same_host = parts.netloc == template_host
        if parts.scheme not in ("http", "https") or not same_host:
            return None
        return url
