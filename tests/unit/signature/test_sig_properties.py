"""Property tests: whatever the crash data, the generator returns a clean signature and no
rule fails on it. (A rule that raises does not raise out of the generator: it leaves a
"Rule failed" note, so that is what these tests look for.)"""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashline.common.signature import SignatureGenerator

FIREFOX_LIKE = Path(__file__).parent / "data" / "firefox_like_lists"
GENERATORS = [SignatureGenerator(), SignatureGenerator(FIREFOX_LIKE)]

# Symbol-ish text: brackets, qualifiers and separators that the normaliser treats specially.
symbol_text = st.text(
    alphabet=st.sampled_from(list("ab:_<>()[]{}`' ,*&$#@.|\t\n~0x") + ["é", "\x00", "€", "\u2028"]),
    max_size=80,
) | st.sampled_from(
    [
        "`anonymous namespace'::f(int) const &",
        "operator<<(std::ostream&, Foo const&)",
        "foo(int) [clone .cold.12]",
        "<T as core::ops::Fn<A>>::call::h1234abcd",
        "RunWatchdog",
        "NS_ABORT_OOM",
        "",
        " ",
    ]
)
scalar = st.none() | st.integers() | st.booleans() | symbol_text | st.floats(allow_nan=True)
frame = st.fixed_dictionaries(
    {},
    optional={
        "function": scalar,
        "file": scalar | st.sampled_from(["/a/b.rs", "hg:h/r:src/x.rs:1", "c:\\x.cc"]),
        "line": scalar,
        "module": scalar | st.sampled_from(["XUL", "FOO.DLL", "libc.so"]),
        "module_offset": scalar,
        "offset": scalar | st.sampled_from(["0x0", "0x000000001234"]),
        "inlines": st.lists(
            st.dictionaries(st.sampled_from(["function", "file", "line"]), scalar), max_size=3
        )
        | scalar,
        "unloaded_modules": st.lists(
            st.dictionaries(st.sampled_from(["module", "offsets"]), scalar), max_size=2
        )
        | scalar,
    },
)
thread = st.fixed_dictionaries(
    {}, optional={"frames": st.lists(frame, max_size=60) | scalar, "last_error_value": scalar}
)
crash_data = st.fixed_dictionaries(
    {},
    optional={
        "threads": st.lists(thread, max_size=3) | scalar,
        "crashing_thread": scalar,
        "os": st.sampled_from(["Windows NT", "Linux", "Mac OS X"]) | scalar,
        "reason": scalar
        | st.sampled_from(["EXCEPTION_STACK_OVERFLOW", "STATUS_DEVICE_DATA_ERROR"]),
        "oom_allocation_size": scalar,
        "abort_message": scalar,
        "hang": scalar,
        "async_shutdown_timeout": scalar | st.just('{"phase": 1, "conditions": [{}, 2]}'),
        "ipc_channel_error": scalar,
        "ipc_message_name": scalar,
        "additional_minidumps": scalar | st.lists(scalar, max_size=2),
        "mdsw_status_string": scalar,
        "java_stack_trace": scalar,
        "java_exception": scalar | st.dictionaries(st.just("exception"), scalar),
    },
)


def assert_clean(result) -> None:
    assert not [note for note in result.notes if "Rule failed" in note], result.notes
    signature = result.signature
    assert isinstance(signature, str)
    assert len(signature) <= 255
    assert all(" " <= c <= "~" for c in signature), signature
    assert signature == signature.strip()
    assert "  " not in signature


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=st.lists(frame, max_size=60), os=st.sampled_from(["Windows NT", "Linux"]))
def test_any_frames_give_a_clean_signature(frames, os) -> None:
    for generator in GENERATORS:
        result = generator.generate(
            {"os": os, "crashing_thread": 0, "threads": [{"frames": frames}]}
        )
        assert_clean(result)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=crash_data)
def test_any_crash_data_gives_a_clean_signature(data) -> None:
    for generator in GENERATORS:
        assert_clean(generator.generate(data))


@settings(max_examples=200, deadline=None)
@given(names=st.lists(st.text(max_size=300), min_size=1, max_size=60))
def test_any_function_names_give_a_clean_signature(names) -> None:
    frames = [{"function": name} for name in names]
    for generator in GENERATORS:
        assert_clean(generator.generate({"threads": [{"frames": frames}]}))
