"""The first line of a Breakpad ``.sym`` file: ``MODULE <os> <arch> <debug_id> <debug_file>``.

It says which module the file describes, so an upload is checked against it: a file stored
under another module's path would give that module's crashes wrong function names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from crashline.common.symbols.layout import SymbolError, SymbolId, check_debug_id

# The longest MODULE line we read: a debug file name of 255 bytes and a bit more.
MAX_MODULE_LINE = 4096
MAGIC = b"MODULE "


@dataclass(frozen=True)
class ModuleLine:
    os: str
    arch: str
    debug_id: str
    debug_file: str

    @property
    def symbol(self) -> SymbolId:
        """Where this file belongs (the debug file's leaf, as the stack walker looks it up)."""
        leaf = self.debug_file.replace("\\", "/").rsplit("/", 1)[-1]
        return SymbolId.of(leaf, self.debug_id)


def parse_module_line(line: bytes) -> ModuleLine:
    """``line`` without its line ending; :class:`SymbolError` unless it is a MODULE line."""
    if not line.startswith(MAGIC):
        raise SymbolError("not a Breakpad symbol file: the first line is not a MODULE line")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise SymbolError("the MODULE line is not UTF-8") from None
    # The debug file name is the rest of the line: it may hold spaces.
    parts = text.split(" ", 4)
    if len(parts) != 5 or not all(parts[1:4]) or not parts[4].strip():
        raise SymbolError(f"malformed MODULE line {text[:200]!r}: expected "
                          "'MODULE <os> <arch> <debug_id> <debug_file>'")
    _, os_name, arch, debug_id, debug_file = parts
    return ModuleLine(os_name, arch, check_debug_id(debug_id), debug_file.strip())


def read_module_line(stream: BinaryIO) -> tuple[ModuleLine, bytes]:
    """The MODULE line at the start of ``stream``, and the bytes read to find it (the caller
    writes them on); reads at most :data:`MAX_MODULE_LINE` bytes."""
    head = b""
    while b"\n" not in head and len(head) < MAX_MODULE_LINE:
        chunk = stream.read(MAX_MODULE_LINE - len(head))
        if not chunk:
            break
        head += chunk
    line, newline, _ = head.partition(b"\n")
    if not newline and len(head) >= MAX_MODULE_LINE:
        raise SymbolError(f"the first line is longer than {MAX_MODULE_LINE} bytes: not a "
                          "Breakpad symbol file")
    return parse_module_line(line.rstrip(b"\r")), head


def check_module(module: ModuleLine, where: SymbolId, name: str) -> None:
    """:class:`SymbolError` unless the file ``name`` at ``where`` describes that module."""
    own = module.symbol
    if own != where:
        raise SymbolError(
            f"{name}: its MODULE line is for {own.debug_file} {own.debug_id}, not for "
            f"{where.debug_file} {where.debug_id} as its path says")
