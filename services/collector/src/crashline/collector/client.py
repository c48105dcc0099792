"""Post crashes the way Breakpad and Crashpad clients do (used by ``crashline submit``, the
tests and the benchmark)."""

from __future__ import annotations

import gzip
import json
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

_CRASH_ID_LINE = re.compile(r"^CrashID=bp-([0-9a-f-]{36})\n?$")


def encode_multipart(
    annotations: Mapping[str, object],
    dumps: Mapping[str, bytes],
    *,
    use_json: bool = False,
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """A multipart body and its boundary: annotations as ``text/plain`` parts (or one JSON
    part named ``extra``), then each dump as ``application/octet-stream``."""
    boundary = boundary or uuid.uuid4().hex
    delimiter = f"--{boundary}\r\n".encode()
    out = bytearray()
    if use_json:
        out += delimiter
        out += (b'Content-Disposition: form-data; name="extra"; filename="extra.json"\r\n'
                b"Content-Type: application/json\r\n\r\n")
        out += json.dumps(dict(annotations)).encode("utf-8") + b"\r\n"
    else:
        for name in sorted(annotations):
            value = annotations[name]
            text = value if isinstance(value, str) else json.dumps(value)
            out += delimiter
            out += f'Content-Disposition: form-data; name="{_quote(name)}"\r\n'.encode()
            out += b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
            out += text.encode("utf-8") + b"\r\n"
    for name in sorted(dumps):
        out += delimiter
        out += (f'Content-Disposition: form-data; name="{_quote(name)}"; '
                f'filename="{_quote(name)}.dmp"\r\n').encode()
        out += b"Content-Type: application/octet-stream\r\n\r\n"
        out += dumps[name] + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), boundary


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


@dataclass(frozen=True)
class SubmitResult:
    status: int
    body: str

    @property
    def crash_id(self) -> str | None:
        match = _CRASH_ID_LINE.match(self.body) if self.status == 200 else None
        return match.group(1) if match else None


def build_request(
    annotations: Mapping[str, object],
    dumps: Mapping[str, bytes],
    *,
    compress: bool = False,
    use_json: bool = False,
    mixed: bool = False,
    token: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    body, boundary = encode_multipart(annotations, dumps, use_json=use_json)
    media_type = "multipart/mixed" if mixed else "multipart/form-data"
    headers = {"Content-Type": f"{media_type}; boundary={boundary}",
               "User-Agent": "crashline-submit/1"}
    if compress:
        body = gzip.compress(body, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    headers["Content-Length"] = str(len(body))
    return body, headers


def submit(
    url: str,
    annotations: Mapping[str, object],
    dumps: Mapping[str, bytes],
    *,
    compress: bool = False,
    use_json: bool = False,
    mixed: bool = False,
    token: str | None = None,
    timeout: float = 60,
) -> SubmitResult:
    body, headers = build_request(annotations, dumps, compress=compress, use_json=use_json,
                                  mixed=mixed, token=token)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return SubmitResult(response.status, response.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        return SubmitResult(exc.code, exc.read().decode("utf-8", "replace"))
