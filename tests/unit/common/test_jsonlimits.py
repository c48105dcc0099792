import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crashline.common.jsonlimits import JSONTooComplex, check_bytes, loads_bounded

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.characters(), max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=30)


def depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


@given(JSON)
def test_depth_matches_the_parsed_documents(value):
    # Strings full of brackets, quotes and escapes must not fool the scan.
    text = json.dumps(value).encode()
    assert loads_bounded(text, max_depth=max(depth(value), 1)) == value
    if depth(value) > 1:
        with pytest.raises(JSONTooComplex):
            check_bytes(text, max_depth=depth(value) - 1)


def test_parses_what_json_parses_within_the_bounds():
    text = '{"a": [1, {"b": [true, null, "x]]]\\"[[["]}], "c": 2.5}'
    assert loads_bounded(text, max_depth=4, max_items=10) == json.loads(text)


@pytest.mark.parametrize("depth_", [5, 100_000])
def test_depth_beyond_the_bound_is_a_value_error(depth_):
    with pytest.raises(ValueError, match="nested more than 4 levels"):
        loads_bounded("[" * depth_ + "]" * depth_, max_depth=4)


def test_item_count_is_bounded_before_parsing():
    # Each container and each separated item counts: 3 containers, 2 commas, 1 more.
    check_bytes(b"[[], [], {}]", max_depth=3, max_items=6)
    with pytest.raises(JSONTooComplex, match="more than 5 values"):
        check_bytes(b"[[], [], {}]", max_depth=3, max_items=5)
    balloon = b"[" + b"[]," * 2_000_000 + b"[]]"  # 6 MB, would be 2 million lists
    with pytest.raises(JSONTooComplex):
        loads_bounded(balloon, max_depth=4, max_items=100_000)


def test_malformed_text_stays_a_value_error():
    with pytest.raises(ValueError):
        loads_bounded(b"\xff{", max_depth=4)
    with pytest.raises(ValueError):
        loads_bounded(b'["unterminated', max_depth=4)
