"""Checks of the request headers: the multipart boundary and the content encoding.

More tolerant than the reference collector on form only (media types without regard to case,
parameters in any order, quoted values), and in the same order of checks.
"""

from __future__ import annotations

from crashline.collector.malformed import Malformed
from crashline.collector.multipart import parse_header_params

MULTIPART_TYPES = ("multipart/form-data", "multipart/mixed")
_MAX_BOUNDARY = 200


def boundary_from_content_type(content_type: str | None) -> bytes:
    """The multipart boundary, or :class:`Malformed` in the reference's order of checks.

    More tolerant than the reference on form only: the media type is matched without regard
    to case and ``boundary`` may come after other parameters or be quoted (RFC 2045).
    """
    if not content_type or not content_type.strip():
        raise Malformed("no_content_type")
    media_type, params = parse_header_params(content_type)
    if media_type not in MULTIPART_TYPES:
        raise Malformed("wrong_content_type")
    boundary = params.get("boundary", "")
    if not boundary or len(boundary) > _MAX_BOUNDARY:
        raise Malformed("no_boundary")
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError as exc:
        raise Malformed("no_boundary") from exc


def is_gzip_encoded(content_encoding: str | None) -> bool:
    """``gzip`` (or ``x-gzip``) -> True; absent or ``identity`` -> False; others refused."""
    value = (content_encoding or "").strip().lower()
    if value in ("", "identity"):
        return False
    if value in ("gzip", "x-gzip"):
        return True
    raise Malformed("unsupported_content_encoding", 400, f"Content-Encoding {value!r}")
