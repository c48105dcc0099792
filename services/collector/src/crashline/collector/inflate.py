"""Streaming gzip inflation of a request body, with caps on the inflated size and on the
compression ratio (what one request may make us store)."""

from __future__ import annotations

from collections.abc import Callable

from crashline.collector.malformed import Malformed, too_large

try:  # zlib-ng inflates about twice as fast as zlib; same API, same results
    from zlib_ng import zlib_ng as zlib
except ImportError:  # pragma: no cover - a declared dependency; zlib still works
    import zlib


# Below this inflated size any ratio is fine: small reports (annotations, tiny dumps) can
# compress far better than dumps do, and cost nothing to store.
RATIO_FLOOR = 1024 * 1024


class Inflater:
    """Streaming gzip inflation, refused (413) past ``max_size`` inflated bytes or, above
    :data:`RATIO_FLOOR`, past ``max_ratio`` times the compressed size: ``compressed_size``
    when the request declared it, else what has been fed so far."""

    def __init__(self, max_size: int, max_ratio: float | None = None, *,
                 compressed_size: int | None = None, piece_size: int = 256 * 1024):
        self.max_size = max_size
        self.max_ratio = max_ratio
        self.compressed_size = compressed_size
        self.piece_size = piece_size
        self.size = 0
        self.fed = 0
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._seen_input = False

    def feed(self, data: bytes, sink: Callable[[bytes], None]) -> None:
        if data:
            self._seen_input = True
        self.fed += len(data)
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
                self._check_ratio()
                sink(out)
            if self._d.eof:
                # Another gzip member may follow (RFC 1952 allows several).
                data = self._d.unused_data
                if data:
                    self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                data = self._d.unconsumed_tail

    def _check_ratio(self) -> None:
        if self.max_ratio is None or self.size <= RATIO_FLOOR:
            return
        compressed = max(self.fed, self.compressed_size or 0)
        if self.size > self.max_ratio * compressed:
            raise too_large("compression_ratio_too_high",
                            f"{compressed} compressed bytes inflate to over {self.size}")

    def close(self) -> None:
        if not self._seen_input or not self._d.eof:
            raise Malformed("bad_gzip", 400, "gzip stream ends early")
