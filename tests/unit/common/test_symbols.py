"""Symbol layout, MODULE lines and the checks on uploaded archives (no services needed)."""

from __future__ import annotations

import io
import os
import stat
import zipfile
import zlib
from pathlib import Path

import pytest

from crashline.common.symbols.archive import Limits, read_upload, zip_entry_count
from crashline.common.symbols.layout import (
    SymbolError,
    SymbolId,
    module_symbol,
    parse_path,
    sym_name,
)
from crashline.common.symbols.symfile import parse_module_line, read_module_line

DEBUG_ID = "5A9832E5287241C1838ED98914E9B7FF1"
PATH = f"test_app.pdb/{DEBUG_ID}/test_app.sym"


def sym(debug_file: str = "test_app.pdb", debug_id: str = DEBUG_ID, body: bytes = b"",
        os_name: str = "windows") -> bytes:
    return (f"MODULE {os_name} x86 {debug_id} {debug_file}\r\nFILE 0 c:\\a.cc\n".encode()
            + body)


def make_zip(path: Path, members: dict[str, bytes], *, method=zipfile.ZIP_DEFLATED,
             comment: bytes = b"", force_zip64: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        archive.comment = comment
        for name, data in members.items():
            if force_zip64:
                with archive.open(zipfile.ZipInfo(name), "w", force_zip64=True) as f:
                    f.write(data)
            else:
                archive.writestr(name, data)
    return path


# -- layout ------------------------------------------------------------------------------
@pytest.mark.parametrize(("debug_file", "expected"), [
    ("test_app.pdb", "test_app.sym"), ("xul.PDB", "xul.sym"), ("libxul.so", "libxul.so.sym"),
    ("XUL", "XUL.sym"), ("a.b.pdb", "a.b.sym"), ("pdb", "pdb.sym"),
])
def test_sym_name_is_what_the_stack_walker_asks_for(debug_file, expected):
    assert sym_name(debug_file) == expected


def test_parse_path_normalises_the_debug_id():
    symbol = parse_path(f"test_app.pdb/{DEBUG_ID.lower()}/test_app.sym")
    assert symbol == SymbolId("test_app.pdb", DEBUG_ID)
    assert symbol.key == f"v1/symbols/{PATH}"
    assert symbol.module == f"test_app.pdb/{DEBUG_ID}"


@pytest.mark.parametrize("path", [
    f"../test_app.pdb/{DEBUG_ID}/test_app.sym", f"/test_app.pdb/{DEBUG_ID}/test_app.sym",
    f"test_app.pdb/../{DEBUG_ID}/test_app.sym", f"a/test_app.pdb/{DEBUG_ID}/test_app.sym",
    f"test_app.pdb/{DEBUG_ID}", f"test_app.pdb\\{DEBUG_ID}\\test_app.sym",
    f"test_app.pdb/{DEBUG_ID}/other.sym", "test_app.pdb/NOTHEX/test_app.sym",
    f"test_app.pdb//{DEBUG_ID}/test_app.sym", f".hidden/{DEBUG_ID}/.hidden.sym",
    f"bad\x01name/{DEBUG_ID}/bad\x01name.sym", f"{'x' * 300}/{DEBUG_ID}/{'x' * 300}.sym",
])
def test_parse_path_refuses_what_is_not_the_layout(path):
    with pytest.raises(SymbolError):
        parse_path(path)


def test_module_symbol_uses_the_leaf_as_the_stack_walker_does():
    assert module_symbol("c:\\build\\test_app.pdb", DEBUG_ID).path == PATH
    assert module_symbol("", DEBUG_ID, "/usr/lib/libc.so.6").module == f"libc.so.6/{DEBUG_ID}"
    assert module_symbol("a.pdb", "not an id") is None
    assert module_symbol(None, DEBUG_ID) is None


# -- MODULE lines ------------------------------------------------------------------------
def test_module_line_with_spaces_in_the_name():
    module = parse_module_line(b"MODULE mac x86_64 " + DEBUG_ID.encode()
                               + b" Google Chrome Framework")
    assert module.debug_file == "Google Chrome Framework"
    assert module.symbol.path == f"Google Chrome Framework/{DEBUG_ID}/Google Chrome Framework.sym"


@pytest.mark.parametrize("line", [
    b"FILE 0 a.cc", b"MODULE windows x86", b"MODULE windows x86 XYZ a.pdb",
    b"MODULE windows x86 " + DEBUG_ID.encode() + b" \xff\xfe.pdb",
    b"MODULE windows x86 " + DEBUG_ID.encode() + b"  ",
])
def test_bad_module_lines(line):
    with pytest.raises(SymbolError):
        parse_module_line(line)


def test_read_module_line_is_bounded():
    with pytest.raises(SymbolError, match="longer than"):
        read_module_line(io.BytesIO(b"MODULE " + b"x" * 100_000))
    module, head = read_module_line(io.BytesIO(sym(body=b"x" * 100_000)))
    assert module.debug_id == DEBUG_ID and len(head) <= 4096


# -- uploads -----------------------------------------------------------------------------
def test_single_sym_file_goes_where_its_module_line_says(tmp_path):
    source = tmp_path / "anything.sym"
    source.write_bytes(sym(body=b"FUNC 1000 10 0 f\n"))
    [member] = read_upload(source, tmp_path, Limits())
    assert member.symbol.path == PATH
    assert member.size == len(source.read_bytes())
    assert member.crc32 == zlib.crc32(source.read_bytes())


def test_zip_members_are_inflated_and_checked(tmp_path):
    other = "ABCDEF0123456789ABCDEF01234567891"
    archive = make_zip(tmp_path / "s.zip", {
        "test_app.pdb/": b"",  # a folder entry is fine
        PATH: sym(body=b"".join(b"FUNC %x 10 0 f%d\n" % (i * 16, i) for i in range(1000))),
        f"libxul.so/{other}/libxul.so.sym": sym("libxul.so", other, os_name="Linux"),
    })
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    members = read_upload(archive, scratch, Limits())
    assert sorted(m.symbol.path for m in members) == sorted(
        [PATH, f"libxul.so/{other}/libxul.so.sym"])
    for member in members:
        data = member.path.read_bytes()
        assert member.path.parent == scratch
        assert len(data) == member.size and zlib.crc32(data) == member.crc32
        assert data.startswith(b"MODULE ")


def refused(tmp_path: Path, archive: Path, limits: Limits | None = None) -> str:
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    with pytest.raises(SymbolError) as info:
        read_upload(archive, scratch, limits or Limits())
    return str(info.value)


def test_mismatched_module_line_is_refused(tmp_path):
    other = "ABCDEF0123456789ABCDEF01234567891"
    archive = make_zip(tmp_path / "s.zip", {PATH: sym(debug_id=other)})
    assert "MODULE line is for test_app.pdb " + other in refused(tmp_path, archive)


@pytest.mark.parametrize("name", [
    f"../../{PATH}", f"/{PATH}", f"x/{PATH}", "test_app.pdb/../../../etc/passwd.sym",
    f"test_app.pdb/{DEBUG_ID}/test_app.pdb", "README.txt",
])
def test_traversal_and_foreign_names_are_refused(tmp_path, name):
    archive = make_zip(tmp_path / "s.zip", {name: sym()})
    refused(tmp_path, archive)


def test_symlink_member_is_refused(tmp_path):
    info = zipfile.ZipInfo(PATH)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "s.zip", "w") as archive:
        archive.writestr(info, "/etc/passwd")
    assert "symbolic link" in refused(tmp_path, tmp_path / "s.zip")


def test_zip_bomb_ratio_is_refused(tmp_path):
    archive = make_zip(tmp_path / "s.zip", {PATH: sym(body=b"\n" * 5_000_000)})
    assert "zip bomb" in refused(tmp_path, archive)


def test_total_inflated_size_is_bounded(tmp_path):
    archive = make_zip(tmp_path / "s.zip", {PATH: sym(body=os.urandom(20_000))},
                       method=zipfile.ZIP_STORED)
    assert "inflates to more than" in refused(tmp_path, archive,
                                              Limits(max_inflated_bytes=10_000))


def test_member_count_is_bounded_before_the_directory_is_read(tmp_path):
    members = {f"f{i}.pdb/{DEBUG_ID}/f{i}.sym": sym(f"f{i}.pdb") for i in range(30)}
    archive = make_zip(tmp_path / "s.zip", members)
    assert "30 entries" in refused(tmp_path, archive, Limits(max_files=10))


def test_lying_sizes_are_caught(tmp_path):
    """A member whose data inflates beyond its declared size is cut and fails its CRC."""
    data = sym(body=b"FUNC 1 1 0 f\n" * 100)
    archive = make_zip(tmp_path / "s.zip", {PATH: data}, method=zipfile.ZIP_STORED)
    raw = bytearray(archive.read_bytes())
    declared = len(data).to_bytes(4, "little")
    smaller = (len(data) - 10).to_bytes(4, "little")
    raw = raw.replace(declared + declared, smaller + smaller)  # local and central headers
    archive.write_bytes(bytes(raw))
    assert "not a valid zip archive" in refused(tmp_path, archive)


def test_duplicate_members_and_empty_archives(tmp_path):
    with zipfile.ZipFile(tmp_path / "dup.zip", "w") as archive:
        archive.writestr(PATH, sym())
        archive.writestr(PATH.replace(DEBUG_ID, DEBUG_ID.lower()), sym())
    assert "twice" in refused(tmp_path, tmp_path / "dup.zip")
    assert "no .sym file" in refused(tmp_path, make_zip(tmp_path / "e.zip", {}))


def test_neither_zip_nor_sym(tmp_path):
    source = tmp_path / "x.bin"
    source.write_bytes(b"\x7fELF....")
    assert "neither a zip archive" in refused(tmp_path, source)
    source.write_bytes(b"PK\x03\x04 truncated")
    assert "not a valid zip archive" in refused(tmp_path, source)


@pytest.mark.parametrize("zip64", [False, True])
@pytest.mark.parametrize("comment", [b"", b"a comment " * 50])
def test_entry_count_agrees_with_zipfile(tmp_path, zip64, comment):
    """Differential: our reading of the end record against zipfile's own directory."""
    members = {f"f{i}.pdb/{DEBUG_ID}/f{i}.sym": sym(f"f{i}.pdb") for i in range(7)}
    archive = make_zip(tmp_path / "s.zip", members, comment=comment, force_zip64=zip64)
    with archive.open("rb") as f:
        entries, directory_size = zip_entry_count(f)
    with zipfile.ZipFile(archive) as z:
        assert entries == len(z.infolist())
        assert directory_size == sum(46 + len(i.filename.encode()) + len(i.extra)
                                     + len(i.comment) for i in z.infolist())


# -- crashline upload-symbols ---------------------------------------------------------------
def test_a_folder_is_uploaded_where_each_module_line_says(tmp_path):
    from crashline.common.symbols.cli import batches, find_symbols, plan

    other = "ABCDEF0123456789ABCDEF01234567891"
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "whatever.sym").write_bytes(sym("libxul.so", other, os_name="Linux"))
    in_layout = tmp_path / PATH
    in_layout.parent.mkdir(parents=True)
    in_layout.write_bytes(sym())
    found = list(find_symbols(tmp_path))
    assert sorted(s.path for s, _ in found) == sorted(
        [PATH, f"libxul.so/{other}/libxul.so.sym"])
    assert [len(b) for b in batches(found, max_bytes=10**9, max_files=1)] == [1, 1]

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    uploads = plan([tmp_path / "loose"], scratch, 10**9, 100)
    upload = next(uploads)  # each batch's zip lives until the next one is asked for
    with zipfile.ZipFile(upload.path) as archive:
        assert archive.namelist() == [f"libxul.so/{other}/libxul.so.sym"]
    assert list(uploads) == [] and list(scratch.iterdir()) == []


def test_a_file_in_the_layout_under_another_modules_path_is_refused(tmp_path):
    from crashline.common.symbols.cli import find_symbols

    other = "ABCDEF0123456789ABCDEF01234567891"
    wrong = tmp_path / PATH
    wrong.parent.mkdir(parents=True)
    wrong.write_bytes(sym(debug_id=other))
    with pytest.raises(SymbolError, match="MODULE line is for"):
        list(find_symbols(tmp_path))
