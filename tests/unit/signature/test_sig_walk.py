"""The frame walk over injected toy lists, and frame-list building."""

from crashline.common.signature import SignatureGenerator
from crashline.common.signature.native import expand_frames, is_module_like


def walk(generator, entries):
    return generator.native.walk(list(entries), 0).signature


def test_irrelevant_prefix_stop(toy_generator) -> None:
    assert walk(toy_generator, "abcdefghijklmnopqrstuvwxyz") == "d | e | f | g"
    assert walk(toy_generator, "abcdaeafagahijklmnopqrstuvwxyz") == "d | e | f | g"


def test_long_entries_are_not_cut_by_the_walk(toy_generator) -> None:
    entries = list("abcdefghijklmnopqrstuvwxyz")
    for i in range(3, 8):
        entries[i] *= 70
    assert walk(toy_generator, entries) == " | ".join(c * 70 for c in "defg")


def test_sentinel_starts_the_walk(toy_generator, make_lists) -> None:
    entries = list("abcdefghabcfaeabdijklmnopqrstuvwxyz")
    entries[7] = "sentinel"
    assert walk(toy_generator, entries) == "sentinel"

    irrelevant_sentinel = SignatureGenerator(
        make_lists(sentinels=["sentinel"], irrelevant=["a", "b", "c", "sentinel"], prefix="def")
    )
    assert walk(irrelevant_sentinel, entries) == "f | e | d | i"


def test_earliest_sentinel_wins(make_lists) -> None:
    generator = SignatureGenerator(make_lists(sentinels=["s2", "s1"]))
    assert walk(generator, ["x", "s1", "y", "s2"]) == "s1"


def test_repeated_library_frames_merge(toy_generator, make_lists) -> None:
    generator = SignatureGenerator(
        make_lists(irrelevant=["a"], prefix=["d", r".*\.dll", r".*\.so"])
    )
    entries = ["a", "d", "foo32.dll", "foo32.dll", "a", "foo32.dll", "g"]
    assert walk(generator, entries) == "d | foo32.dll | g"
    assert walk(generator, ["libc.so", "libc.so", "g"]) == "libc.so | g"
    # Only library-like names merge; two equal function frames stay (recursion matters).
    assert walk(generator, ["d", "d", "g"]) == "d | d | g"


def test_fallbacks(toy_generator) -> None:
    native = toy_generator.native
    all_irrelevant = native.walk(["a", "b"], 3)
    assert all_irrelevant.signature == "a"
    assert all_irrelevant.notes == ["no frame data for crashing thread (3)"]
    assert native.walk([], 0).signature == "EMPTY: no frame data available"


def test_is_module_like() -> None:
    for name in ("foo.dll", "FOO.DLL", "libc.so", "XUL", "<name omitted>", "<unknown in foo>"):
        assert is_module_like(name), name
    for name in ("(unloaded foo.dll)", "foo::bar", "libc.so.6"):
        assert not is_module_like(name), name


def test_inlines_come_before_their_frame_and_count() -> None:
    frames = [
        {"function": "outer", "module": "m", "inlines": [{"function": "i1"}, {"function": "i2"}]}
    ]
    expanded = list(expand_frames(frames))
    assert [f["function"] for f in expanded] == ["i1", "i2", "outer"]
    assert expanded[0]["module"] == "m"
    many = [{"function": str(i), "inlines": [{"function": f"in{i}"}]} for i in range(30)]
    assert len(list(expand_frames(many))) == 40


def test_frame_text_fallbacks(toy_generator) -> None:
    text = toy_generator.native.frame_text
    assert text({"function": "fnNeedNumber", "line": 23}) == "fnNeedNumber:23"
    assert text({"file": "/a/b/c.cc", "line": 3, "module": "m"}) == "c.cc#3"
    assert text({"file": "/a/b/c.cc", "module": "libfoo.so", "module_offset": "0x1"}) == "libfoo.so"
    assert text({"module": "[vdso]"}) == "vdso"
    assert text({"module": "FOO.DLL"}, lowercase_modules=True) == "foo.dll"
    assert text({"unloaded_modules": [{"module": "gone.dll", "offsets": ["0x10"]}]}) == (
        "(unloaded gone.dll)"
    )
    assert text({"offset": "0x0000000000032ec0"}) == "@0x32ec0"
    assert text({}) == ""
    # Junk types count as absent.
    assert text({"function": 5, "module": ["x"], "offset": None}) == ""


def test_frames_without_text_are_dropped(toy_generator) -> None:
    assert toy_generator.native.normalize_frames([{}, {"function": "g"}, "junk", None]) == ["g"]
