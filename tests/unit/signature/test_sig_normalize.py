"""Frame-name normalisation: C++, Rust, file#line, module and address fallbacks.

Function names go through the path production takes: the frame text of the native tool
(whose toy lists put ``fnNeedNumber`` on the line-number list)."""

import pytest

from crashline.common.signature.normalize import (
    collapse,
    drop_prefix_and_return_type,
    file_line_text,
    fix_rust_module,
    parse_source_file,
    strip_leading_zeros,
    strip_qualifiers,
)

RUST_FILE = "/src/lib.rs"


@pytest.fixture
def text(toy_generator):
    return toy_generator.native.frame_text


@pytest.mark.parametrize(
    "function, expected",
    [
        ("fn", "fn"),
        ("f( *s)", "f"),
        ("f( &s)", "f"),
        ("f( *s , &n)", "f"),
        ("f3(s,t,u)", "f3"),
        ("operator()(s,t,u)", "operator()"),
        ("::(anonymous namespace)::f3(s,t,u)", "::(anonymous namespace)::f3"),
        (
            "mozilla::layers::Image::GetAsSourceSurface()",
            "mozilla::layers::Image::GetAsSourceSurface",
        ),
        (
            "mozilla::layers::BasicImageLayer::Paint(mozilla::gfx::DrawTarget*, "
            "mozilla::gfx::PointTyped<mozilla::gfx::UnknownUnits, float> const&, "
            "mozilla::layers::Layer*)",
            "mozilla::layers::BasicImageLayer::Paint",
        ),
        ("void nsDocumentViewer::DestroyPresShell()", "nsDocumentViewer::DestroyPresShell"),
        (
            "bool CCGraphBuilder::BuildGraph(class js::SliceBudget& const)",
            "CCGraphBuilder::BuildGraph",
        ),
        ("f<3>(s,t,u)", "f<T>"),
        ("Alpha<Bravo<Charlie>, Delta>::Echo<Foxtrot>", "Alpha<T>::Echo<T>"),
        ("thread_start<unsigned int (__cdecl*)(void* __ptr64)>", "thread_start<T>"),
        (
            "class JSObject* DoCallback<JSObject*>(class JS::CallbackTracer*, class JSObject**, "
            "const char*)",
            "DoCallback<T>",
        ),
        # Operator overloads keep their spaces; cv/ref qualifiers go.
        (
            "JS::Heap<JSObject*>::operator JSObject* const &()",
            "JS::Heap<T>::operator JSObject* const&",
        ),
        ("JSObject::allocKindForTenure const", "JSObject::allocKindForTenure"),
        ("mozilla::Maybe<unsigned long>::value() const &", "mozilla::Maybe<T>::value"),
        ("Foo::Bar() &&", "Foo::Bar"),
        ("Foo::Bar() const&", "Foo::Bar"),
        (
            "mozilla::jni::GlobalRef<mozilla::jni::Object>::operator=(mozilla::jni::Ref<"
            "mozilla::jni::Object, _jobject*> const&)&",
            "mozilla::jni::GlobalRef<T>::operator=",
        ),
        ("`anonymous namespace'::foo", "(anonymous namespace)::foo"),
        ("(anonymous namespace)::foo", "(anonymous namespace)::foo"),
        ("ShutdownWorkThreads::$_52::__invoke", "ShutdownWorkThreads::$::__invoke"),
        # Exceptions to template collapsing.
        ("<name omitted>", "<name omitted>"),
        ("<unknown in libfoo.so>", "<unknown in libfoo.so>"),
        (
            "IPC::ParamTraits<nsTSubstring<char> >::Write(IPC::Message *)",
            "IPC::ParamTraits<nsTSubstring<T> >::Write",
        ),
        ("<T as Trait>::method(int)", "<T as Trait>::method"),
        # PGO cold clones.
        ("foo(int) [clone .cold.222]", "foo"),
        ("foo(int) [clone .isra.0]", "foo [clone .isra.0]"),
        ("foo (int, char)", "foo"),
        # Spacing.
        ("Foo<A,B>::bar(int)", "Foo<T>::bar"),
        ("js::Thing *", "*"),
    ],
)
def test_cpp(text, function: str, expected: str) -> None:
    assert text({"function": function}) == expected


def test_cpp_line_number_list(text) -> None:
    assert text({"function": "fnNeedNumber", "line": 23}) == "fnNeedNumber:23"
    assert text({"function": "fn", "line": 23}) == "fn"


@pytest.mark.parametrize(
    "function, expected",
    [
        ("expect_failed::h7f635057bfba806a", "expect_failed"),
        ("expect_failed::h7f6350::blah", "expect_failed::h7f6350::blah"),
        (
            "static void servo_arc::Arc<style::gecko_properties::ComputedValues>::drop_slow"
            "<style::gecko_properties::ComputedValues>()",
            "servo_arc::Arc<T>::drop_slow<T>",
        ),
        (
            "static void core::ptr::drop_in_place<style::stylist::CascadeData>(struct "
            "style::stylist::CascadeData*)",
            "core::ptr::drop_in_place<T>",
        ),
        (
            "<rayon_core::job::HeapJob<BODY> as rayon_core::job::Job>::execute",
            "<rayon_core::job::HeapJob<BODY> as rayon_core::job::Job>::execute",
        ),
        ("core::result::Result<T,E>::unwrap", "core::result::Result<T>::unwrap"),
    ],
)
def test_rust(text, function: str, expected: str) -> None:
    assert text({"function": function, "file": RUST_FILE}) == expected


def test_rust_line_number_list(text) -> None:
    assert text({"function": "fnNeedNumber::h0123", "file": RUST_FILE, "line": 7}) == (
        "fnNeedNumber::h0123:7")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a<b>c", "a<T>c"),
        ("a<b<c>>d<e>", "a<T>d<T>"),
        ("a<unclosed", "a<T>"),
        ("no brackets", "no brackets"),
        ("", ""),
    ],
)
def test_collapse(text: str, expected: str) -> None:
    assert collapse(text, "<", ">", "<T>") == expected


def test_collapse_exceptions() -> None:
    assert collapse("operator<(x)", "<", ">", "<T>", ("operator",)) == "operator<(x)"
    assert collapse("f(anonymous namespace)", "(", ")", "", ("anonymous namespace",)) == (
        "f(anonymous namespace)"
    )


@pytest.mark.parametrize(
    "function, expected",
    [
        (
            "static void * Allocator<A>::malloc(unsigned __int64)",
            "Allocator<A>::malloc(unsigned __int64)",
        ),
        ("int main", "main"),
        ("foo (int a, int b)", "foo (int a, int b)"),
        ("foo(int) [clone .cold.1] [clone .cold.2]", "foo(int) [clone .cold.1] [clone .cold.2]"),
        ("`anonymous namespace'::f", "`anonymous namespace'::f"),
        ("a b)", "b)"),
        (" ", ""),
    ],
)
def test_drop_prefix_and_return_type(function: str, expected: str) -> None:
    assert drop_prefix_and_return_type(function) == expected


@pytest.mark.parametrize(
    "function, expected",
    [
        ("f() const", "f()"),
        ("f() const &", "f()"),
        ("f()&", "f()"),
        ("f() &&", "f()"),
        ("isconst", "isconst"),  # a name that ends in "const" is not a qualifier
        ("Foo::operator&", "Foo::operator&"),
    ],
)
def test_strip_qualifiers(function: str, expected: str) -> None:
    assert strip_qualifiers(function) == expected


@pytest.mark.parametrize(
    "source, expected",
    [
        (
            "hg:hg.mozilla.org/releases/mozilla-esr52:js/src/jit/MIR.h:755067c14b06",
            "js/src/jit/MIR.h",
        ),
        ("c:\\build\\a.cc", "\\build\\a.cc"),
        ("/build/src/lib.rs", "/build/src/lib.rs"),
        ("relative/path.cc", None),
        ("", None),
    ],
)
def test_parse_source_file(source: str, expected: str | None) -> None:
    assert parse_source_file(source) == expected


@pytest.mark.parametrize(
    "source, expected",
    [
        ("source/", "source#23"),
        ("source\\", "source#23"),
        ("/a/b/c/source", "source#23"),
        ("\\a\\b\\c\\source", "source#23"),
        ("hg:hg.mozilla.org/m-c:dom/Foo.cpp:abc", "Foo.cpp:abc#23"),
    ],
)
def test_file_line_text(source: str, expected: str) -> None:
    assert file_line_text(source, 23) == expected


@pytest.mark.parametrize(
    "offset, expected",
    [("0x0000000000032ec0", "0x32ec0"), ("0x00000000", "0x0"), ("0x1", "0x1"), ("junk", "junk")],
)
def test_strip_leading_zeros(offset: str, expected: str) -> None:
    assert strip_leading_zeros(offset) == expected


def test_rust_134_panic_symbols_get_their_module() -> None:
    file = (
        "git:github.com/rust-lang/rust:src/libstd/panicking.rs:91856ed52c58aa5ba66a015354d1cc69e9"
    )
    assert fix_rust_module("begin_panic_fmt", file) == "std::panicking::begin_panic_fmt"
    assert fix_rust_module(
        "panic", "git:github.com/rust-lang/rust:src/libcore/panicking.rs:ab"
    ) == ("core::panicking::panic")
    assert fix_rust_module("panic", "/src/other.rs") == "panic"
