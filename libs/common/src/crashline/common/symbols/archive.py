"""Reading an upload of symbols (one ``.sym`` file or a zip archive of them) into checked
files, with every bound a whole-upload bound.

Everything is checked before anything is stored, so a refused upload leaves nothing behind:

1. the zip's end record, before :mod:`zipfile` reads the central directory (a directory of
   millions of entries would cost gigabytes of memory just to list);
2. each entry's name (the layout, no traversal), type (no symbolic links), encryption and
   method, and the declared sizes against the bounds: inflated bytes in all, and the ratio
   of inflated to compressed bytes per member and for the whole archive (which also stops
   entries that overlap to share one compressed stream);
3. each member inflated to a scratch file: :mod:`zipfile` never yields more than the
   declared size and checks the CRC at the end, and its MODULE line is read on the way.
"""

from __future__ import annotations

import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from crashline.common.symbols.layout import SymbolError, SymbolId, parse_path
from crashline.common.symbols.symfile import MAGIC, ModuleLine, check_module, read_module_line

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_EOCD = struct.Struct("<4s4H2LH")          # end of central directory record
_ZIP64_LOCATOR = struct.Struct("<4sLQL")   # zip64 end of central directory locator
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")  # zip64 end of central directory record
_MAX_COMMENT = 0xFFFF
# Bytes of central directory per entry we accept: its fixed part and a long name.
_DIRECTORY_BYTES_PER_ENTRY = 46 + 1024 + 256
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_files: int = 10_000               # entries of an archive (folders included)
    max_inflated_bytes: int = 4 << 30     # all files of one upload, inflated
    max_ratio: float = 100.0              # inflated : compressed, per member and in all


@dataclass(frozen=True)
class Member:
    """A checked symbol file, inflated to ``path`` (a scratch file the caller removes)."""

    symbol: SymbolId
    module: ModuleLine
    path: Path
    size: int
    crc32: int


def is_zip(head: bytes) -> bool:
    return head.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC))


def read_upload(source: Path, scratch: Path, limits: Limits, name: str = "the upload"
                ) -> list[Member]:
    """The symbol files of one uploaded file (a zip archive, whose members are inflated into
    ``scratch``, or a ``.sym`` file, used where it is), checked; :class:`SymbolError` saying
    what is wrong otherwise."""
    with source.open("rb") as f:
        head = f.read(len(MAGIC))
    if is_zip(head):
        return read_zip(source, scratch, limits)
    if head.startswith(MAGIC):
        return [read_sym(source, limits, name)]
    raise SymbolError(f"{name} is neither a zip archive nor a Breakpad .sym file (which "
                      "starts with a MODULE line)")


def read_sym(source: Path, limits: Limits, name: str) -> Member:
    """One ``.sym`` file: it belongs where its MODULE line says."""
    size = source.stat().st_size
    if size > limits.max_inflated_bytes:
        raise SymbolError(f"{name} is larger than {limits.max_inflated_bytes} bytes")
    with source.open("rb") as f:
        module, _ = read_module_line(f)
        f.seek(0)
        crc = 0
        while chunk := f.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return Member(module.symbol, module, source, size, crc)


def zip_entry_count(f: BinaryIO) -> tuple[int, int]:
    """(entries, bytes of central directory) from a zip's end records, reading only its
    tail; :class:`SymbolError` if it has none."""
    f.seek(0, 2)
    size = f.tell()
    tail_size = min(size, _EOCD.size + _MAX_COMMENT)
    f.seek(size - tail_size)
    tail = f.read(tail_size)
    at = tail.rfind(EMPTY_ZIP_MAGIC)
    # The comment may itself contain the signature: take the last record that ends exactly
    # at the end of the file with its comment.
    while at >= 0:
        if at + _EOCD.size <= len(tail):
            record = _EOCD.unpack_from(tail, at)
            if at + _EOCD.size + record[7] == len(tail):
                break
        at = tail.rfind(EMPTY_ZIP_MAGIC, 0, at)
    if at < 0:
        raise SymbolError("not a valid zip archive: it has no end of central directory")
    _, _, _, _, entries, directory_size, _, _ = _EOCD.unpack_from(tail, at)
    if entries == 0xFFFF or directory_size == 0xFFFFFFFF:  # zip64: the real counts are further
        record_at = size - tail_size + at
        if record_at < _ZIP64_LOCATOR.size:
            raise SymbolError("not a valid zip archive: its zip64 locator is missing")
        f.seek(record_at - _ZIP64_LOCATOR.size)
        signature, _, zip64_at, _ = _ZIP64_LOCATOR.unpack(f.read(_ZIP64_LOCATOR.size))
        if signature != b"PK\x06\x07":
            raise SymbolError("not a valid zip archive: its zip64 locator is missing")
        f.seek(zip64_at)
        data = f.read(_ZIP64_EOCD.size)
        if len(data) != _ZIP64_EOCD.size or not data.startswith(b"PK\x06\x06"):
            raise SymbolError("not a valid zip archive: its zip64 end record is missing")
        _, _, _, _, _, _, _, entries, directory_size, _ = _ZIP64_EOCD.unpack(data)
    return entries, directory_size


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def check_entries(infos: list[zipfile.ZipInfo], archive_size: int, limits: Limits
                  ) -> list[tuple[zipfile.ZipInfo, SymbolId]]:
    """The archive's files and where each belongs, once every entry has passed."""
    if len(infos) > limits.max_files:
        raise SymbolError(f"the archive has {len(infos)} entries; at most {limits.max_files} "
                          "are accepted")
    files: list[tuple[zipfile.ZipInfo, SymbolId]] = []
    seen: dict[SymbolId, str] = {}
    inflated = 0
    for info in infos:
        name = info.filename
        if _is_symlink(info):
            raise SymbolError(f"{name!r} is a symbolic link; only regular files are accepted")
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise SymbolError(f"{name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise SymbolError(f"{name!r} is compressed with method {info.compress_type}; "
                              "use deflate (or none)")
        if not name.endswith(".sym"):
            raise SymbolError(f"{name!r} is not a .sym file; only Breakpad symbol files "
                              "are accepted")
        symbol = parse_path(name)
        if symbol in seen:
            raise SymbolError(f"{name!r} is in the archive twice (also as {seen[symbol]!r})")
        seen[symbol] = name
        inflated += info.file_size
        if inflated > limits.max_inflated_bytes:
            raise SymbolError(f"the archive inflates to more than {limits.max_inflated_bytes} "
                              "bytes")
        if info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise SymbolError(f"{name!r} inflates {info.file_size // max(info.compress_size, 1)}"
                              f" times; at most {limits.max_ratio:g} is accepted (a zip bomb?)")
        files.append((info, symbol))
    if inflated > limits.max_ratio * max(archive_size, 1):
        raise SymbolError(f"the archive inflates {inflated // max(archive_size, 1)} times its "
                          f"size; at most {limits.max_ratio:g} is accepted (a zip bomb?)")
    if not files:
        raise SymbolError("the archive holds no .sym file")
    return files


def read_zip(source: Path, scratch: Path, limits: Limits) -> list[Member]:
    archive_size = source.stat().st_size
    with source.open("rb") as f:
        entries, directory_size = zip_entry_count(f)
    if entries > limits.max_files:
        raise SymbolError(f"the archive has {entries} entries; at most {limits.max_files} "
                          "are accepted")
    if directory_size > _DIRECTORY_BYTES_PER_ENTRY * max(entries, 1):
        raise SymbolError("the archive's central directory is larger than its entries need")
    try:
        with zipfile.ZipFile(source) as archive:
            files = check_entries(archive.infolist(), archive_size, limits)
            return [_inflate(archive, info, symbol, scratch / f"{n}.sym")
                    for n, (info, symbol) in enumerate(files)]
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise SymbolError(f"not a valid zip archive: {exc}") from None


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, symbol: SymbolId,
             target: Path) -> Member:
    with archive.open(info) as member, target.open("wb") as out:
        module, head = read_module_line(member)
        check_module(module, symbol, repr(info.filename))
        out.write(head)
        size = len(head)
        # zipfile stops at the declared size and checks the CRC at the end: reaching the
        # end means the file is exactly what the directory says.
        while chunk := member.read(_CHUNK):
            out.write(chunk)
            size += len(chunk)
    return Member(symbol, module, target, size, info.CRC)
