"""Hostile input to the processor: corrupt, truncated and adversarial minidumps for the real
stack walker, a stand-in stack walker whose output is deeply nested, huge, malformed or
late, and annotation values a client can send that are out of range, of the wrong type, huge
or not text (:data:`HOSTILE_ANNOTATIONS`).

:func:`hostile_dumps` yields ``(kind, dump bytes)``. A dump that starts with
:data:`WALKER_MARKER` and a kind name is not walked by ``minidump-stackwalk``: the script
:func:`write_walker` writes hands it to the stand-in, which produces that kind of output
(every other dump goes to the real walker).
"""

from __future__ import annotations

import random
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from processor_support.minidump import build_minidump

WALKER_MARKER = b"HOSTILE-WALKER "
HEADER = struct.Struct("<4sIIIII")  # signature, version, streams, directory rva, checksum, time
DIRECTORY_ENTRY = struct.Struct("<III")  # type, size, rva

# What the stand-in walker does, by kind (its code is in WALKER below).
WALKER_KINDS = (
    "deep",  # arrays nested 200,000 deep in a thread's frame
    "deep_object",  # objects nested 200,000 deep under json_dump
    "huge",  # 2,000 threads of 200 frames
    "long_strings",  # 8 MiB function names and module names
    "many_modules",  # 100,000 modules
    "not_json",  # garbage
    "truncated",  # valid JSON cut in the middle
    "not_object",  # a list, a string, a number
    "bad_types",  # every field of the wrong type
    "bad_indices",  # crashing_thread out of range, negative, huge
    "numbers",  # NaN, Infinity, 1e400, 2**200
    "infinity",  # 1e400 where counts and indices go (cpu_count, crashing_thread)
    "bad_utf8",  # bytes that are not UTF-8
    "nul_keys",  # NUL and control characters in keys and values
    "exit_1",  # partial output, then exit code 1
    "killed",  # SIGKILLs itself
    "slow",  # outlives the walker timeout
    "too_much",  # writes past the output limit
    "empty",  # exits 0, writes nothing
)

# Annotation values a client can send (the collector keeps form values as strings; a JSON
# annotation part keeps its types): one set on each hostile crash in turn, so they meet the
# hostile dumps and walker output too. Name -> annotations.
HOSTILE_ANNOTATIONS: dict[str, dict[str, Any]] = {
    "times past any date": {"CrashTime": "1000000000000000000",
                            "StartupTime": "999999999999999900", "InstallTime": "1"},
    "numbers past a long": {"BuildID": "9" * 40, "CrashTime": str(2**70),
                            "AvailablePhysicalMemory": "1e400",
                            "TotalVirtualMemory": "-" + "9" * 30},
    "lone surrogates": {"ProductName": "Hostile\udfff", "Version": "1.0\ud800",
                        "ReleaseChannel": "\ud800"},
    "NULs and controls": {"ProductName": "Hos\x00tile", "Version": "\x00",
                          "ReleaseChannel": "\x1b[31m", "Notes": "\x00\x07\x08"},
    "huge values": {"ProductName": "P" * 100_000, "Version": "9" * 100_000,
                    "Notes": "n" * 1_000_000},
    "wrong types": {"ProductName": ["Hostile"], "Version": {"major": 1}, "BuildID": True,
                    "CrashTime": 1.5, "StartupTime": None, "Notes": [[[]]]},
}
# What "times past any date" must leave in the processed crash's notes.
OUT_OF_RANGE_NOTE = "client_crash_date is out of range"

WALKER = r'''#!{python}
import json, os, signal, sys, time

REAL = {real!r}
MARKER = {marker!r}

args = sys.argv[1:]
if "--version" in args:
    os.execv(REAL, [REAL] + args)
dump = args[-1]
with open(dump, "rb") as f:
    head = f.read(64)
if not head.startswith(MARKER):
    os.execv(REAL, [REAL] + args)
kind = head[len(MARKER):].split(b"\n")[0].decode()
output = next(a.split("=", 1)[1] for a in args if a.startswith("--output-file="))


def frame(i, name="f"):
    return {{"frame": i, "function": name, "module": "m.dll", "offset": hex(i),
            "trust": "cfi", "file": "a.c", "line": i}}


def base(**extra):
    doc = {{"status": "OK", "crash_info": {{"type": "SIGSEGV", "address": "0x0",
                                          "crashing_thread": 0}},
           "system_info": {{"os": "Linux", "cpu_arch": "amd64"}},
           "threads": [{{"frames": [frame(0), frame(1)]}}], "modules": []}}
    doc.update(extra)
    return doc


with open(output, "wb") as out:
    if kind == "deep":
        out.write(b'{{"status": "OK", "threads": [{{"frames": [{{"function": '
                  + b"[" * 200000 + b"]" * 200000 + b"}}]}}]}}")
    elif kind == "deep_object":
        out.write(b'{{"status": "OK", "x": ' + b'{{"a":' * 200000 + b"1"
                  + b"}}" * 200000 + b"}}")
    elif kind == "huge":
        threads = [{{"frames": [frame(i, f"function_{{t}}_{{i}}") for i in range(200)]}}
                   for t in range(2000)]
        out.write(json.dumps(base(threads=threads)).encode())
    elif kind == "long_strings":
        name = "n" * (8 << 20)
        doc = base(threads=[{{"frames": [frame(0, name)]}}],
                   modules=[{{"filename": name, "debug_file": name, "debug_id": name,
                             "loaded_symbols": True}}])
        out.write(json.dumps(doc).encode())
    elif kind == "many_modules":
        modules = [{{"filename": f"m{{i}}.so", "base_addr": hex(i), "end_addr": hex(i + 1),
                    "missing_symbols": True}} for i in range(100000)]
        out.write(json.dumps(base(modules=modules)).encode())
    elif kind == "not_json":
        out.write(os.urandom(4096))
    elif kind == "truncated":
        text = json.dumps(base()).encode()
        out.write(text[: len(text) // 2])
    elif kind == "not_object":
        out.write(b'[1, 2, {{"status": "OK"}}]')
    elif kind == "bad_types":
        out.write(json.dumps({{"status": 7, "crash_info": "x", "system_info": [1],
                              "threads": {{"frames": "no"}}, "modules": "m",
                              "crashing_thread": {{"a": 1}}, "thread_count": "many",
                              "main_module": [], "lsb_release": 5,
                              "mac_crash_info": [None]}}).encode())
    elif kind == "bad_indices":
        doc = base(crashing_thread=10**12, main_module=-5,
                   crash_info={{"crashing_thread": -1, "address": "0xffffffffffffffffff"}})
        doc["threads"][0]["frames"][0]["frame"] = -3
        out.write(json.dumps(doc).encode())
    elif kind == "numbers":
        out.write(b'{{"status": "OK", "crash_info": {{"crashing_thread": NaN, '
                  b'"address": Infinity}}, "threads": [{{"frames": [{{"frame": 1e400, '
                  b'"offset": ' + str(2 ** 200).encode() + b", \"line\": -Infinity}}]}}]}}")
    elif kind == "infinity":
        out.write(b'{{"status": "OK", "system_info": {{"os": "Linux", "cpu_arch": "amd64", '
                  b'"cpu_count": 1e400}}, "crash_info": {{"type": "SIGSEGV", "address": "0x0", '
                  b'"crashing_thread": 1e400}}, "thread_count": -1e400, '
                  b'"threads": [{{"frames": []}}]}}')
    elif kind == "bad_utf8":
        out.write(b'{{"status": "OK", "threads": [{{"frames": [{{"function": "\xff\xfe\xed\xa0'
                  b'\x80"}}]}}], "system_info": {{"os": "\xc3\x28"}}}}')
    elif kind == "nul_keys":
        doc = base()
        doc["\u0000"] = "\u0000\u0001\u001f"
        doc["threads"][0]["frames"][0]["function"] = "a\u0000b\u2028\ud800"
        out.write(json.dumps(doc).encode())
    elif kind == "exit_1":
        out.write(json.dumps(base())[:50].encode())
        out.flush()
        sys.exit(1)
    elif kind == "killed":
        out.write(b'{{"status"')
        out.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    elif kind == "slow":
        time.sleep(3600)
    elif kind == "too_much":
        chunk = b" " * (1 << 20)
        while True:
            out.write(chunk)
    elif kind == "empty":
        pass
'''


def write_walker(path: Path, real: str) -> Path:
    path.write_text(WALKER.format(python=sys.executable, real=real,
                                  marker=WALKER_MARKER))
    path.chmod(0o755)
    return path


# -- corrupt minidumps for the real walker -----------------------------------------------------
def _header(dump: bytes) -> tuple:
    return HEADER.unpack_from(dump, 0)


def _with_header(dump: bytes, **changes: int) -> bytes:
    signature, version, streams, rva, checksum, stamp = _header(dump)
    values = {"streams": streams, "rva": rva, **changes}
    return HEADER.pack(signature, version, values["streams"], values["rva"], checksum,
                       stamp) + dump[HEADER.size:]


def _directory(dump: bytes) -> list[tuple[int, int, int, int]]:
    """(offset of the entry, type, size, rva) of each stream."""
    _, _, streams, rva, _, _ = _header(dump)
    return [(rva + i * DIRECTORY_ENTRY.size, *DIRECTORY_ENTRY.unpack_from(
        dump, rva + i * DIRECTORY_ENTRY.size)) for i in range(streams)]


def _set_entry(dump: bytes, offset: int, kind: int, size: int, rva: int) -> bytes:
    return dump[:offset] + DIRECTORY_ENTRY.pack(kind, size, rva) + \
        dump[offset + DIRECTORY_ENTRY.size:]


def corrupt(rng: random.Random, dump: bytes) -> tuple[str, bytes]:
    """One corruption of a valid dump: (what it is, the bytes)."""
    entries = _directory(dump)
    choice = rng.randrange(12)
    if choice == 0:
        return "truncated", dump[:rng.randrange(0, len(dump))]
    if choice == 1:
        data = bytearray(dump)
        for _ in range(rng.randrange(1, 64)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return "random bytes changed", bytes(data)
    if choice == 2:
        return "stream count huge", _with_header(dump, streams=rng.choice(
            [0xFFFFFFFF, 0x7FFFFFFF, 1 << 20]))
    if choice == 3:
        return "directory out of range", _with_header(dump, rva=rng.choice(
            [len(dump) - 4, 0xFFFFFFF0, len(dump) + 1]))
    if choice == 4:
        offset, kind, _, rva = rng.choice(entries)
        return "stream size huge", _set_entry(dump, offset, kind, 0xFFFFFFF0, rva)
    if choice == 5:
        offset, kind, size, _ = rng.choice(entries)
        return "stream out of range", _set_entry(dump, offset, kind, size, 0xFFFFFF00)
    if choice == 6:  # every stream points at the directory itself
        out = dump
        for offset, kind, size, _ in entries:
            out = _set_entry(out, offset, kind, size, _header(dump)[3])
        return "streams overlap", out
    if choice == 7:  # the same stream type many times
        offset, kind, size, rva = entries[0]
        out = dump
        for other, _, _, _ in entries[1:]:
            out = _set_entry(out, other, kind, size, rva)
        return "duplicate streams", out
    if choice == 8:  # counts inside streams (threads, modules, memory ranges) made huge
        data = bytearray(dump)
        for _, kind, _size, rva in entries:
            if kind in (3, 4, 5) and rva + 4 <= len(data):
                struct.pack_into("<I", data, rva, rng.choice([0xFFFFFFFF, 1 << 24, 1 << 16]))
        return "record counts huge", bytes(data)
    if choice == 9:
        return "random bytes", b"MDMP" + rng.randbytes(rng.randrange(0, 65536))
    if choice == 10:
        return "header only", dump[:HEADER.size]
    return "zeros after the header", dump[:HEADER.size] + bytes(rng.randrange(1, 100_000))


def hostile_dumps(count: int, corpus: list[bytes], seed: int = 16) -> Iterator[tuple[str,
                                                                                      bytes]]:
    """``count`` hostile dumps: every stand-in walker kind first, then corrupted corpus and
    synthetic dumps and stand-in kinds mixed."""
    rng = random.Random(seed)
    valid = [d for d in corpus if d[:4] == b"MDMP" and len(d) > 64] + [build_minidump()]
    for i in range(count):
        if i < len(WALKER_KINDS) or rng.random() < 0.2:
            kind = WALKER_KINDS[i] if i < len(WALKER_KINDS) else rng.choice(WALKER_KINDS)
            yield f"walker output: {kind}", WALKER_MARKER + kind.encode() + b"\n"
        else:
            what, data = corrupt(rng, rng.choice(valid))
            yield f"minidump: {what}", data
