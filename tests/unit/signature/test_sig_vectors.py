"""Crash data in, signature out: the reference's examples and the section 8 checklist.

The reference's Firefox lists are Mozilla's (MPL-2.0) and are not committed; the
``firefox_like_lists`` directory holds entries we wrote ourselves, just enough for every
example to take the same path through the lists as it does with Mozilla's files
(test_sig_mozilla_profile runs the examples with Mozilla's own files, where ../shared has
them).
"""

import json
from pathlib import Path

import pytest

from crashline.common.signature import SignatureGenerator

DATA = Path(__file__).parent / "data"


def load(name: str) -> list[dict]:
    return json.loads((DATA / name).read_text())


@pytest.fixture(scope="module")
def generator() -> SignatureGenerator:
    return SignatureGenerator(DATA / "firefox_like_lists")


VECTORS = load("reference_examples.json") + load("checklist_vectors.json")


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(generator: SignatureGenerator, vector: dict) -> None:
    result = generator.generate(vector["in"])
    assert result.signature == vector["signature"]
    if "proto_signature" in vector:
        assert result.proto_signature == vector["proto_signature"]
    if "notes" in vector:
        assert result.notes == vector["notes"]


def test_all_ten_reference_examples_are_present() -> None:
    assert len(load("reference_examples.json")) == 12  # ten examples + two verified extras
