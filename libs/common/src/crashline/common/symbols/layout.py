"""Where a Breakpad symbol file lives: ``<debug_file>/<debug_id>/<name>.sym``.

This is the layout ``minidump-stackwalk`` asks symbol servers and folders for, so it is the
layout of uploads (archive members), of the store (under ``v1/symbols/`` in crash storage)
and of the webapp's symbol server. ``<name>.sym`` is not free: the stack walker derives it
from the debug file (``xul.pdb`` -> ``xul.sym``, ``libxul.so`` -> ``libxul.so.sym``), and a
file under any other name would never be asked for, so it is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SYMBOLS_PREFIX = "v1/symbols/"
MAX_NAME_BYTES = 255  # a file name on every filesystem we store on

# Breakpad debug ids: 32 hex digits of a GUID (or an ELF/Mach-O build id folded to one), then
# the age in hex (one digit for ELF and Mach-O, up to eight for PDB).
_DEBUG_ID_RE = re.compile(r"^[0-9A-Fa-f]{32,40}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class SymbolError(ValueError):
    """An upload, path or file that is not a usable symbol file; the message says why in
    words meant for the uploader."""


def sym_name(debug_file: str) -> str:
    """The symbol file's name for a debug file, as the stack walker derives it."""
    stem, dot, extension = debug_file.rpartition(".")
    if dot and stem and extension.lower() == "pdb":
        return f"{stem}.sym"
    return f"{debug_file}.sym"


def check_debug_file(name: str) -> str:
    if not name:
        raise SymbolError("the debug file name is empty")
    if "/" in name or "\\" in name:
        raise SymbolError(f"the debug file name {name!r} holds a path separator")
    if name in (".", "..") or name.startswith("."):
        raise SymbolError(f"the debug file name {name!r} starts with a dot")
    if _CONTROL_RE.search(name):
        raise SymbolError(f"the debug file name {name!r} holds control characters")
    if len(sym_name(name).encode("utf-8")) > MAX_NAME_BYTES:
        raise SymbolError(f"the debug file name {name[:40]!r}... is too long")
    return name


def check_debug_id(value: str) -> str:
    """The debug id in the stack walker's form (upper case)."""
    if not _DEBUG_ID_RE.match(value):
        raise SymbolError(f"{value[:60]!r} is not a debug id (32 to 40 hexadecimal digits)")
    return value.upper()


@dataclass(frozen=True, order=True)
class SymbolId:
    """One symbol file, named by its module's debug file and debug id."""

    debug_file: str
    debug_id: str

    @classmethod
    def of(cls, debug_file: str, debug_id: str) -> SymbolId:
        return cls(check_debug_file(debug_file), check_debug_id(debug_id))

    @property
    def file_name(self) -> str:
        return sym_name(self.debug_file)

    @property
    def path(self) -> str:
        """``<debug_file>/<debug_id>/<name>.sym``, relative to a symbol server's root."""
        return f"{self.debug_file}/{self.debug_id}/{self.file_name}"

    @property
    def key(self) -> str:
        """Where crash storage keeps it."""
        return SYMBOLS_PREFIX + self.path

    @property
    def module(self) -> str:
        """``<debug_file>/<debug_id>``: how crashes name the symbols they missed."""
        return f"{self.debug_file}/{self.debug_id}"


def parse_path(path: str) -> SymbolId:
    """The symbol file at ``<debug_file>/<debug_id>/<name>.sym``; :class:`SymbolError` for
    anything else (other depths, traversal, a name the stack walker would not ask for)."""
    if "\\" in path:
        raise SymbolError(f"{path!r}: use '/' between the parts of a path")
    parts = path.split("/")
    if path.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise SymbolError(f"{path!r} is not a relative path inside the archive")
    if len(parts) != 3:
        raise SymbolError(f"{path!r} is not in the <debug_file>/<debug_id>/<name>.sym layout")
    debug_file, debug_id, file_name = parts
    symbol = SymbolId.of(debug_file, debug_id)
    if file_name != symbol.file_name:
        raise SymbolError(f"{path!r}: the symbol file of {debug_file!r} must be named "
                          f"{symbol.file_name!r} (the name the stack walker asks for)")
    return symbol


def module_symbol(debug_file: object, debug_id: object,
                  code_file: object = None) -> SymbolId | None:
    """The symbol file the stack walker looks up for a module of a walked dump (named by the
    leaf of its debug file, else of its code file), or None when it has no usable identity."""
    name = debug_file if isinstance(debug_file, str) and debug_file else code_file
    if not isinstance(name, str) or not isinstance(debug_id, str):
        return None
    leaf = re.split(r"[/\\]", name)[-1]
    try:
        return SymbolId.of(leaf, debug_id)
    except SymbolError:
        return None
