"""Symbol endpoints: UploadSymbols and MissingSymbols."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import falcon
import falcon.media
from pydantic import BaseModel, ConfigDict, Field

from crashline.common.symbols import SymbolError
from crashline.webapp.api.base import (
    BodyTooLarge,
    BoundedReader,
    Operation,
    Resource,
    body_stream,
)
from crashline.webapp.auth.principal import UPLOAD_SYMBOLS
from crashline.webapp.errors import APIError, bad_request
from crashline.webapp.symbols import SymbolService

_CHUNK = 1024 * 1024
UPLOAD_HELP = (
    "The body is one Breakpad .sym file, or a zip archive of them in the "
    "<debug_file>/<debug_id>/<name>.sym layout (application/zip, application/octet-stream or "
    "text/plain), or a multipart/form-data form of such files. Each file's MODULE line must "
    "match its path. Nothing is stored unless every file passes. A file already stored is "
    "not written again. Crashes of the last days that missed the new files are queued for "
    "reprocessing.")


class MissingSymbolsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(7, ge=1, le=365, description="Crashes of the last N days")
    product: list[str] | None = Field(None, max_length=50, description="Only these products")
    # symbol files x products x versions stays within the engine's default bucket limit
    limit: int = Field(100, ge=1, le=500, description="Most symbol files to list")


class UploadSymbolsResource(Resource):
    name = "UploadSymbols"
    operations = (Operation(
        "POST", "Upload Breakpad symbol files", permission=UPLOAD_SYMBOLS, file_upload=True,
        description=UPLOAD_HELP,
        responses={201: "{files: [{path, size, status: stored|unchanged}], stored, unchanged, "
                        "reprocessing: {found, queued, waiting}}",
                   400: "not a symbol file or archive, a path outside the layout, a MODULE "
                        "line that does not match, a bound exceeded (files, inflated size, "
                        "compression ratio), a symbolic link",
                   403: "the caller lacks upload_symbols",
                   413: "the body is larger than CRASHLINE_SYMBOLS_UPLOAD_MAX_BYTES"}),)

    def __init__(self, symbols: SymbolService):
        self.symbols = symbols
        self.max_bytes = symbols.settings.symbols_upload_max_bytes
        self.multipart = falcon.media.MultipartFormHandler()
        self.multipart.parse_options.max_body_part_count = symbols.limits.max_files

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.require(req, UPLOAD_SYMBOLS)
        if req.content_length is not None and req.content_length > self.max_bytes:
            raise self._too_large()
        tmp_dir = self.symbols.settings.symbols_upload_tmp_dir
        scratch = Path(tempfile.mkdtemp(prefix="crashline-symbols-", dir=tmp_dir))
        try:
            files = self._receive(req, scratch)
            try:
                resp.media = self.symbols.upload(files, scratch, self.principal(req))
            except SymbolError as exc:
                raise bad_request(str(exc)) from None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        resp.status = falcon.HTTP_201

    def _too_large(self) -> APIError:
        return APIError(falcon.HTTP_413, f"Request body larger than {self.max_bytes} bytes",
                        headers={"Connection": "close"})  # do not drain the rest

    def _receive(self, req: falcon.Request, scratch: Path) -> list[tuple[str, Path]]:
        """The uploaded files, spooled to ``scratch``: (name for messages, path)."""
        reader = BoundedReader(body_stream(req), self.max_bytes)
        files: list[tuple[str, Path]] = []
        try:
            if (req.content_type or "").startswith(falcon.MEDIA_MULTIPART):
                form = self.multipart.deserialize(reader, req.content_type, req.content_length)
                for part in form:
                    if not part.filename:
                        raise bad_request(f"form field {part.name!r} is not a file; send "
                                          "symbol files or zip archives only")
                    files.append((repr(part.filename), self._spool(part.stream, scratch,
                                                                   len(files))))
            else:
                files.append(("the upload", self._spool(reader, scratch, 0)))
        except BodyTooLarge:
            raise self._too_large() from None
        except falcon.MediaMalformedError as exc:
            raise bad_request(f"the multipart form is malformed: {exc.description}") from None
        if not files or all(path.stat().st_size == 0 for _, path in files):
            raise bad_request("nothing was uploaded: " + UPLOAD_HELP)
        return files

    @staticmethod
    def _spool(stream, scratch: Path, n: int) -> Path:
        path = scratch / f"upload-{n}"
        with path.open("wb") as out:
            while chunk := stream.read(_CHUNK):
                out.write(chunk)
        return path


class MissingSymbolsResource(Resource):
    name = "MissingSymbols"
    operations = (Operation(
        "GET", "Symbol files that crashes missed, most crashes first", params=MissingSymbolsParams,
        responses={200: "{days, start, end, crashes, symbol_files, hits: [{debug_file, "
                        "debug_id, crashes, uploaded_at, products: [{product, crashes, "
                        "versions: [{version, crashes}]}]}]}"}),)

    def __init__(self, symbols: SymbolService):
        self.symbols = symbols

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = self.read_params(req, MissingSymbolsParams)
        resp.media = self.symbols.missing(params.days, params.product or [], params.limit)
