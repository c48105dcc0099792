"""Streaming gzip inflation of a request body, with a cap on the inflated size."""

from __future__ import annotations

from collections.abc import Callable

from crashline.collector.malformed import Malformed, too_large

try:  # zlib-ng inflates about twice as fast as zlib; same API, same results
    from zlib_ng import zlib_ng as zlib
except ImportError:  # pragma: no cover - a declared dependency; zlib still works
    import zlib


class Inflater:
    """Streaming gzip inflation with a cap on the inflated size (gzip bombs)."""

    def __init__(self, max_size: int, piece_size: int = 256 * 1024):
        self.max_size = max_size
        self.piece_size = piece_size
        self.size = 0
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._seen_input = False

    def feed(self, data: bytes, sink: Callable[[bytes], None]) -> None:
        if data:
            self._seen_input = True
        while data:
            try:
                out = self._d.decompress(data, self.piece_size)
            except zlib.error as exc:
                raise Malformed("bad_gzip", 400, str(exc)) from exc
            if out:
                self.size += len(out)
                if self.size > self.max_size:
                    raise too_large("inflated_too_large",
                                    f"inflated body over {self.max_size} bytes")
                sink(out)
            if self._d.eof:
                # Another gzip member may follow (RFC 1952 allows several).
                data = self._d.unused_data
                if data:
                    self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                data = self._d.unconsumed_tail

    def close(self) -> None:
        if not self._seen_input or not self._d.eof:
            raise Malformed("bad_gzip", 400, "gzip stream ends early")
