"""Pure normalisation of native frame names (C, C++, Rust).

Everything here is a pure function of its arguments, and the expensive ones are memoised:
crashes of one product share most of their frames, so the same symbol reaches us thousands of
times and is normalised once.

The line-number list is the one piece of list data that affects a name. It is applied after
the cached work (see :func:`with_line_number`), so the caches do not depend on the lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_CACHE_SIZE = 1 << 17

# Brackets that group a C++/Rust symbol; spaces inside them do not separate tokens.
_PAIRS = {"(": ")", "{": "}", "[": "]", "<": ">", "`": "'"}
_CLOSERS = frozenset(_PAIRS.values())

_LAMBDA_NUMBER = re.compile(r"::\$_\d+::")
_SPACE_BEFORE = re.compile(r" (?=[*&,])")
_COMMA_WITHOUT_SPACE = re.compile(r",(?! )")
_RUST_HASH = re.compile(r"::h[0-9a-fA-F]+$")

# collapse() exceptions: a bracket group is kept when the text before it ends with one of these
# strings or the group itself contains one.
_CPP_TYPE_EXCEPTIONS = ("name omitted", "IPC::ParamTraits", " in ", " as ", "operator")
_CPP_ARG_EXCEPTIONS = ("anonymous namespace", "operator")
_RUST_TYPE_EXCEPTIONS = (" as ",)

# Rust 1.34 emitted a few panic symbols without their module path; sentinels need the path.
RUST_MISSING_MODULES = {
    ("src/liballoc/raw_vec.rs", "capacity_overflow"): "alloc::raw_vec::capacity_overflow",
    ("src/libcore/option.rs", "expect_failed"): "core::option::expect_failed",
    ("src/libcore/panicking.rs", "panic_bounds_check"): "core::panicking::panic_bounds_check",
    ("src/libcore/panicking.rs", "panic_fmt"): "core::panicking::panic_fmt",
    ("src/libcore/panicking.rs", "panic"): "core::panicking::panic",
    ("src/libcore/slice/mod.rs", "slice_index_order_fail"): "core::slice::slice_index_order_fail",
    ("src/libstd/panicking.rs", "begin_panic_fmt"): "std::panicking::begin_panic_fmt",
    ("src/libstd/panicking.rs", "continue_panic_fmt"): "std::panicking::continue_panic_fmt",
    ("src/libstd/panicking.rs", "rust_panic_with_hook"): "std::panicking::rust_panic_with_hook",
}


def _is_exception(exceptions: Iterable[str], before: str, group: str) -> bool:
    return any(before.endswith(s) or s in group for s in exceptions)


def collapse(
    text: str,
    open_char: str,
    close_char: str,
    replacement: str = "",
    exceptions: tuple[str, ...] = (),
) -> str:
    """Replace each outermost ``open_char … close_char`` group with ``replacement``.

    A group is kept verbatim when the text before it ends with an exception string, or the
    group contains one. An unclosed group runs to the end of the text.
    """
    if open_char not in text:
        return text
    out: list[str] = []
    group: list[str] = []
    depth = 0
    for i, char in enumerate(text):
        if not depth:
            if char == open_char and not _is_exception(exceptions, text[:i], ""):
                depth = 1
                group = [char]
            else:
                out.append(char)
            continue
        group.append(char)
        if char == open_char:
            depth += 1
        elif char == close_char:
            depth -= 1
            if not depth:
                token = "".join(group)
                out.append(token if _is_exception(exceptions, text[:i], token) else replacement)
    if depth:
        token = "".join(group)
        # Like a closed group, "before" ends just short of the last character.
        out.append(token if _is_exception(exceptions, text[:-1], token) else replacement)
    return "".join(out)


def drop_prefix_and_return_type(function: str) -> str:
    """Keep the last space-separated token, ignoring spaces inside brackets.

    ``static void * Allocator<A>::malloc(unsigned __int64)`` → ``Allocator<A>::malloc(unsigned
    __int64)``. A trailing ``(…)`` or ``[clone …]`` token is joined back to the name before it.
    """
    if " " not in function:
        return function
    tokens: list[str] = []
    current: list[str] = []
    stack: list[str] = []
    for char in function:
        if char in _PAIRS:
            stack.append(char)
        elif char in _CLOSERS:
            if stack and _PAIRS[stack[-1]] == char:
                stack.pop()
        elif char == " " and not stack:
            tokens.append("".join(current))
            current = []
            continue
        current.append(char)
    if current:
        tokens.append("".join(current))
    while len(tokens) > 1 and tokens[-1].startswith(("(", "[clone")):
        tokens[-2:] = [f"{tokens[-2]} {tokens[-1]}"]
    return tokens[-1]


def strip_qualifiers(function: str) -> str:
    """Drop trailing member-function qualifiers: ``const``, ``&``, ``&&`` and combinations."""
    function = function.rstrip()
    if function.endswith("&") and not function.endswith(("operator&", "operator&&")):
        function = function.rstrip("&").rstrip()
    if function.endswith("const") and (len(function) == 5 or function[-6] in " )"):
        function = function[:-5].rstrip()
    return function


def _fixup_spacing(function: str) -> str:
    """No space before ``*``, ``&`` or ``,``; exactly one space after ``,``."""
    if " " in function:
        function = _SPACE_BEFORE.sub("", function)
    if "," in function:
        function = _COMMA_WITHOUT_SPACE.sub(", ", function)
    return function


@lru_cache(maxsize=_CACHE_SIZE)
def cpp_stages(function: str) -> tuple[str, str]:
    """Normalise a C/C++ name: ``(text the line-number list is matched against, result)``."""
    function = strip_qualifiers(function)
    # Operator overloads contain spaces that are part of the name, not a return type.
    if "::operator" not in function:
        function = drop_prefix_and_return_type(function)
    function = function.replace("`anonymous namespace'", "(anonymous namespace)")
    if "::$_" in function:
        function = _LAMBDA_NUMBER.sub("::$::", function)
    function = collapse(function, "<", ">", "<T>", _CPP_TYPE_EXCEPTIONS)
    # "foo (int)" would leave "foo ": the reference keeps that space, we do not.
    function = collapse(function, "(", ")", "", _CPP_ARG_EXCEPTIONS).rstrip()
    # PGO cold-block labels ("[clone .cold.222]") vary between builds.
    if "clone .cold" in function:
        # Also drop the space that separated the label (the reference keeps it).
        function = collapse(function, "[", "]", "").rstrip()
    return function, _fixup_spacing(function)


@lru_cache(maxsize=_CACHE_SIZE)
def rust_stages(function: str) -> tuple[str, str]:
    """Normalise a Rust name: ``(text the line-number list is matched against, result)``."""
    function = drop_prefix_and_return_type(function)
    function = collapse(function, "<", ">", "<T>", _RUST_TYPE_EXCEPTIONS)
    function = collapse(function, "(", ")", "").rstrip()
    # The trailing ::h<hash> differs in every build of the same code.
    return function, _RUST_HASH.sub("", _fixup_spacing(function))


def with_line_number(stage: str, line: object, rust: bool) -> str:
    """The result for a name that matched the line-number list: ``<name>:<line>``."""
    result = _fixup_spacing(f"{stage}:{line}")
    return _RUST_HASH.sub("", result) if rust else result


@lru_cache(maxsize=_CACHE_SIZE)
def parse_source_file(source_file: str) -> str | None:
    """The source path inside a frame's ``file``, or None when its shape is unknown.

    ``hg:hg.mozilla.org/m-c:dom/Foo.cpp:abc`` → ``dom/Foo.cpp``; ``c:\\src\\a.cc`` →
    ``\\src\\a.cc``; ``/build/a.rs`` → itself.
    """
    if not source_file:
        return None
    parts = source_file.split(":")
    if len(parts) == 4:  # vcs:root:path:revision
        return parts[2]
    if len(parts) == 2:  # a Windows drive
        return parts[1]
    if source_file.startswith("/"):
        return source_file
    return None


@lru_cache(maxsize=_CACHE_SIZE)
def is_rust_file(source_file: str) -> bool:
    return (parse_source_file(source_file) or "").endswith(".rs")


def fix_rust_module(function: str, source_file: str) -> str:
    """Give Rust 1.34 panic symbols their module path (``panic`` → ``core::panicking::panic``)."""
    return RUST_MISSING_MODULES.get((parse_source_file(source_file), function), function)


def file_line_text(source_file: str, line: object) -> str:
    """``<basename>#<line>`` for a frame with a file but no function (no VCS parsing)."""
    name = source_file.rstrip("/\\")
    name = name.rsplit("\\", 1)[-1] if "\\" in name else name.rsplit("/", 1)[-1]
    return f"{name}#{line}"


def strip_leading_zeros(offset: str) -> str:
    """``0x0000000000032ec0`` → ``0x32ec0`` (``0x0`` stays); anything else is returned as is."""
    if offset[:2] in ("0x", "0X"):
        digits = offset[2:].lstrip("0")
        return offset[:2] + (digits or "0")
    return offset
