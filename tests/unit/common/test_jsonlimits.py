import json

import pytest

from crashline.common.jsonlimits import JSONTooComplex, check_shape, loads_bounded


def test_parses_what_json_parses_within_the_bounds():
    text = '{"a": [1, {"b": [true, null, "x"]}], "c": 2.5}'
    assert loads_bounded(text, max_depth=4, max_items=10) == json.loads(text)


@pytest.mark.parametrize("depth", [5, 100_000])
def test_depth_beyond_the_bound_is_a_value_error(depth):
    with pytest.raises(ValueError, match="nested more than 4 levels"):
        loads_bounded("[" * depth + "]" * depth, max_depth=4)


def test_depth_counts_objects_and_lists_alike():
    check_shape({"a": [{"b": []}]}, max_depth=4)
    with pytest.raises(JSONTooComplex):
        check_shape({"a": [{"b": []}]}, max_depth=3)


def test_item_count_is_bounded():
    check_shape([[], [], {"a": 1}], max_depth=3, max_items=4)
    with pytest.raises(JSONTooComplex, match="more than 4 values"):
        check_shape([[], [], {"a": 1, "b": 2}], max_depth=3, max_items=4)


def test_malformed_text_stays_a_value_error():
    with pytest.raises(ValueError):
        loads_bounded(b"\xff{", max_depth=4)
