"""Why a request is refused: the reason the client is told and the HTTP status."""

from __future__ import annotations


class Malformed(Exception):
    """The request is refused; ``reason`` is what the client is told."""

    def __init__(self, reason: str, status: int = 400, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason
        self.status = status
        self.detail = detail


def too_large(reason: str, detail: str = "") -> Malformed:
    return Malformed(reason, 413, detail)
