"""A small minidump writer for tests: a 32-bit x86 process with one crashing thread.

Enough of the format (header, stream directory, SystemInfo, ThreadList with a stack and a
CONTEXT_X86, Exception, ModuleList with CodeView records, MemoryList) for minidump-stackwalk
to report the OS, CPU, crash reason and address, and to walk two frames through the frame
pointer chain. :func:`symbol_file` writes matching Breakpad symbols, so tests can check
symbolication and signatures without any real crash data.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field
from pathlib import Path

EXCEPTION_ACCESS_VIOLATION = 0xC0000005
PLATFORM_WINDOWS_NT = 2
PLATFORM_LINUX = 0x8201
ARCH_X86 = 0

STREAM_THREAD_LIST = 3
STREAM_MODULE_LIST = 4
STREAM_MEMORY_LIST = 5
STREAM_EXCEPTION = 6
STREAM_SYSTEM_INFO = 7

CONTEXT_X86_FULL = 0x00010000 | 0x1 | 0x2 | 0x4  # control, integer, segments
CONTEXT_X86_SIZE = 716
DEFAULT_GUID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9fa"


@dataclass
class Module:
    name: str = "c:\\app\\crashy.exe"
    base: int = 0x00400000
    size: int = 0x10000
    debug_file: str = "crashy.pdb"
    guid: uuid.UUID = field(default_factory=lambda: uuid.UUID(DEFAULT_GUID))
    age: int = 1

    @property
    def debug_id(self) -> str:
        """The Breakpad debug id: GUID fields as stored (little-endian ints) + age."""
        d1, d2, d3 = struct.unpack("<IHH", self.guid.bytes_le[:8])
        return f"{d1:08X}{d2:04X}{d3:04X}{self.guid.bytes_le[8:].hex().upper()}{self.age:X}"

    @property
    def filename(self) -> str:
        return self.name.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass
class MinidumpSpec:
    """What the synthetic crash looks like. Offsets are relative to the first module."""

    crash_offset: int = 0x1010        # eip: where it crashed
    caller_offset: int = 0x2020       # return address found through the frame pointer
    crash_address: int = 0x45         # the address it tried to write
    write: bool = True
    platform: int = PLATFORM_WINDOWS_NT
    os_version: tuple[int, int, int] = (10, 0, 19045)
    csd_version: str = ""
    cpus: int = 4
    thread_id: int = 0x1234
    modules: list[Module] = field(default_factory=lambda: [Module()])
    # A heavier crash (benchmarks): more threads, each with a frame-pointer chain of
    # ``frames`` frames; the crashing thread is the first.
    threads: int = 1
    frames: int = 2


class _Writer:
    def __init__(self) -> None:
        self.data = bytearray()

    def add(self, blob: bytes, align: int = 4) -> int:
        while len(self.data) % align:
            self.data.append(0)
        rva = len(self.data)
        self.data += blob
        return rva

    def patch(self, rva: int, blob: bytes) -> None:
        self.data[rva:rva + len(blob)] = blob


def _string(text: str) -> bytes:
    encoded = text.encode("utf-16-le")
    return struct.pack("<I", len(encoded)) + encoded + b"\0\0"


def _context_x86(eip: int, esp: int, ebp: int) -> bytes:
    # context_flags, dr0-3/6/7, float save area (112), gs fs es ds,
    # edi esi ebx edx ecx eax, ebp eip cs eflags esp ss, extended registers (512)
    ctx = struct.pack("<I6I", CONTEXT_X86_FULL, *([0] * 6))
    ctx += b"\0" * 112
    ctx += struct.pack("<4I", 0x2B, 0x53, 0x2B, 0x2B)
    ctx += struct.pack("<6I", 0, 0, 0, 0, 0, 0x45)
    ctx += struct.pack("<6I", ebp, eip, 0x23, 0x10246, esp, 0x2B)
    ctx += b"\0" * 512
    assert len(ctx) == CONTEXT_X86_SIZE
    return ctx


def build_minidump(spec: MinidumpSpec | None = None) -> bytes:
    spec = spec or MinidumpSpec()
    main = spec.modules[0]
    w = _Writer()
    header_rva = w.add(b"\0" * 32)
    streams: list[tuple[int, int, int]] = []  # type, size, rva

    # SystemInfo
    csd_rva = w.add(_string(spec.csd_version))
    cpu_info = struct.pack("<3I3I", *struct.unpack("<3I", b"GenuineIntel"), 0x906EA, 0, 0)
    sysinfo = struct.pack("<HHHBBIIIIIHH", ARCH_X86, 6, 0x9E0A, spec.cpus, 1,
                          *spec.os_version, spec.platform, csd_rva, 0, 0) + cpu_info
    streams.append((STREAM_SYSTEM_INFO, len(sysinfo), w.add(sysinfo)))

    # Stacks: esp at the start, frame records [saved ebp][return address] chained from ebp.
    stack_base = 0x0012F000
    depth = max(spec.frames - 1, 1)
    size = max(0x100, 0x20 + 0x10 * depth + 0x10)
    entries, ranges = [], []
    for number in range(spec.threads):
        base = stack_base + number * 0x100000
        stack = bytearray(size)
        ebp = base + 0x20
        for k in range(depth):
            saved = ebp + 0x10 * (k + 1) if k + 1 < depth else 0
            struct.pack_into("<II", stack, 0x20 + 0x10 * k, saved, main.base + spec.caller_offset)
        stack_rva = w.add(bytes(stack))
        context_rva = w.add(_context_x86(main.base + spec.crash_offset, base, ebp))
        thread = struct.pack("<IIIIQ", spec.thread_id + number, 0, 0x20, 0, 0x7FFDE000)
        thread += struct.pack("<QII", base, len(stack), stack_rva)
        thread += struct.pack("<II", CONTEXT_X86_SIZE, context_rva)
        entries.append(thread)
        ranges.append(struct.pack("<QII", base, len(stack), stack_rva))
        if number == 0:
            crash_context_rva = context_rva
    threads = struct.pack("<I", len(entries)) + b"".join(entries)
    streams.append((STREAM_THREAD_LIST, len(threads), w.add(threads)))

    memory = struct.pack("<I", len(ranges)) + b"".join(ranges)
    streams.append((STREAM_MEMORY_LIST, len(memory), w.add(memory)))

    # Exception: access violation, parameters [write?, address]
    info = [1 if spec.write else 0, spec.crash_address] + [0] * 13
    exception = struct.pack("<II", spec.thread_id, 0)
    exception += struct.pack("<IIQQII15Q", EXCEPTION_ACCESS_VIOLATION, 0, 0,
                             main.base + spec.crash_offset, 2, 0, *info)
    exception += struct.pack("<II", CONTEXT_X86_SIZE, crash_context_rva)
    streams.append((STREAM_EXCEPTION, len(exception), w.add(exception)))

    # Modules with CodeView (RSDS) records naming their PDB and debug id.
    entries = []
    for module in spec.modules:
        name_rva = w.add(_string(module.name))
        cv = b"RSDS" + module.guid.bytes_le + struct.pack("<I", module.age)
        cv += module.debug_file.encode() + b"\0"
        cv_rva = w.add(cv)
        version = struct.pack("<13I", 0xFEEF04BD, 0x10000, 0x10002, 0x30004, 0x10002,
                              0x30004, 0x3F, 0, 0x40004, 1, 0, 0, 0)
        entries.append(struct.pack("<QIIII", module.base, module.size, 0, 0x5F000000, name_rva)
                       + version + struct.pack("<IIII", len(cv), cv_rva, 0, 0)
                       + struct.pack("<QQ", 0, 0))
    modules = struct.pack("<I", len(entries)) + b"".join(entries)
    streams.append((STREAM_MODULE_LIST, len(modules), w.add(modules)))

    directory = b"".join(struct.pack("<III", *s) for s in streams)
    directory_rva = w.add(directory)
    w.patch(header_rva, struct.pack("<IIIIIIQ", 0x504D444D, 0xA793, len(streams),
                                    directory_rva, 0, 0x5F000000, 0))
    return bytes(w.data)


def symbol_file(symbols_dir: Path, module: Module | None = None,
                functions: dict[int, tuple[str, int]] | None = None,
                source: str = "c:\\src\\crashy.cc") -> Path:
    """Write Breakpad symbols for ``module`` (``{offset: (function, line)}``, each function
    0x100 bytes long) in the ``<debug_file>/<debug_id>/<name>.sym`` layout."""
    module = module or Module()
    functions = functions or {0x1000: ("CrashHere(int)", 42), 0x2000: ("main", 7)}
    lines = [f"MODULE windows x86 {module.debug_id} {module.debug_file}", f"FILE 0 {source}"]
    for offset, (name, line) in sorted(functions.items()):
        lines.append(f"FUNC {offset:x} 100 0 {name}")
        lines.append(f"{offset:x} 100 {line} 0")
    folder = symbols_dir / module.debug_file / module.debug_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (module.debug_file.rsplit(".", 1)[0] + ".sym")
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path
