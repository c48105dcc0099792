"""Loading and validating signature lists."""

from pathlib import Path

import pytest

from crashline.common.signature import SignatureGenerator, SignatureListError, load_lists
from crashline.common.signature.siglists import DEFAULT_LISTS_DIR, IRRELEVANT_FILE, LIST_FILES


def test_shipped_lists_load_and_ship_with_the_package() -> None:
    lists = load_lists()
    assert lists.source == DEFAULT_LISTS_DIR
    assert {p.name for p in DEFAULT_LISTS_DIR.iterdir()} >= set(LIST_FILES)
    assert "__assert_fail" in lists.sentinels
    assert lists.irrelevant.match("abort")
    assert lists.prefix.match("memcpy")


def test_comments_and_blank_lines_are_ignored(make_lists) -> None:
    directory = make_lists(sentinels=["  spaced  ", "# not an entry"], irrelevant=["x"])
    (directory / "signature_sentinels.txt").write_text("# c\n\n  spaced  \n")
    assert load_lists(directory).sentinels == ("spaced",)


def test_bad_regex_names_file_and_line(make_lists) -> None:
    directory = make_lists()
    (directory / IRRELEVANT_FILE).write_text("# comment\nfine\nbad(regex\n")
    with pytest.raises(
        SignatureListError, match=rf"{IRRELEVANT_FILE}:3: invalid regular expression"
    ):
        SignatureGenerator(directory)


def test_missing_directory_and_file(tmp_path: Path, make_lists) -> None:
    with pytest.raises(SignatureListError, match="directory not found"):
        load_lists(tmp_path / "nope")
    directory = make_lists()
    (directory / IRRELEVANT_FILE).unlink()
    with pytest.raises(
        SignatureListError, match=f"{IRRELEVANT_FILE}: signature list file not found"
    ):
        load_lists(directory)


def test_empty_regex_list_matches_nothing(make_lists) -> None:
    lists = load_lists(make_lists())
    assert not lists.irrelevant.match("anything")
    assert not lists.prefix.match("")


def test_each_list_is_one_alternation(make_lists) -> None:
    lists = load_lists(make_lists(prefix=["a", "b.*"]))
    assert lists.prefix.pattern == "a|b.*"
    assert lists.prefix.match("bxyz") and not lists.prefix.match("xa")  # anchored at start only
