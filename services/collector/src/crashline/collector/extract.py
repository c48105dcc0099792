"""From an HTTP request body to annotations and dumps: streaming and bounded.

The body is read piece by piece, inflated if gzipped, and fed to the multipart parser, whose
parts the payload builder sorts; every refusal is a :class:`Malformed` carrying the reason the
client sees (``Discarded=malformed_<reason>``) and the HTTP status.
"""

from __future__ import annotations

from collections.abc import Callable

from crashline.collector.headers import boundary_from_content_type, is_gzip_encoded
from crashline.collector.inflate import Inflater
from crashline.collector.limits import Limits
from crashline.collector.malformed import Malformed, too_large
from crashline.collector.memory import WorkerMemory
from crashline.collector.multipart import MultipartError, MultipartParser
from crashline.collector.payload import Payload, PayloadBuilder


def extract_payload(
    read: Callable[[int], bytes],
    *,
    content_type: str | None,
    content_encoding: str | None,
    content_length: int | None,
    chunked: bool,
    limits: Limits,
    memory: WorkerMemory | None = None,
) -> Payload:
    """Read the body through ``read(n)`` and return the parsed payload, or raise Malformed
    (or :class:`~crashline.collector.memory.Unavailable`). ``memory``: the worker's budgets
    (default: budgets of this request alone).

    ``content_length`` None with ``chunked`` means a chunked body whose size is counted as it
    comes; with neither, there is no body to read.
    """
    boundary = boundary_from_content_type(content_type)
    if not content_length and not (content_length is None and chunked):
        raise Malformed("no_content_length")
    if content_length is not None and content_length > limits.max_body_size:
        raise too_large("too_large", f"body of {content_length} bytes")
    gzipped = is_gzip_encoded(content_encoding)

    builder = PayloadBuilder(limits, memory or WorkerMemory.from_limits(limits))
    parser = MultipartParser(boundary, builder, max_header_size=limits.max_part_header_size)
    inflater = Inflater(limits.max_inflated_size, limits.max_compression_ratio,
                        compressed_size=content_length) if gzipped else None
    received = 0
    try:
        try:
            while content_length is None or received < content_length:
                want = limits.read_chunk_size
                if content_length is not None:
                    want = min(want, content_length - received)
                chunk = read(want)
                if not chunk:
                    break
                received += len(chunk)
                if received > limits.max_body_size:
                    raise too_large("too_large", f"body over {limits.max_body_size} bytes")
                if inflater is not None:
                    inflater.feed(chunk, parser.feed)
                else:
                    parser.feed(chunk)
            if inflater is not None:
                inflater.close()
            parser.close()
        except MultipartError as exc:
            raise Malformed("invalid_payload_structure", 400, str(exc)) from exc
        payload = builder.finish()
    except BaseException:
        builder.payload.close()
        raise
    payload.compressed = gzipped
    payload.size = content_length if content_length is not None else received
    payload.inflated_size = inflater.size if inflater is not None else None
    return payload
