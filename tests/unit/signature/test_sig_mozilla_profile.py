"""Mozilla's own signature lists (../shared/reference/socorro/signature/siglists, read as
they are) as a profile: with them the generator gives the signatures the reference documents
for its examples. Our generic lists stay the default. Skips where the folder is absent."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from harness.reference import SIGLISTS, need

from crashline.common.signature import SignatureGenerator, cli
from crashline.common.signature.siglists import DEFAULT_LISTS_DIR, load_lists

DATA = Path(__file__).parent / "data"
EXAMPLES = json.loads((DATA / "reference_examples.json").read_text())


@pytest.fixture(scope="module")
def mozilla() -> SignatureGenerator:
    return SignatureGenerator(need(SIGLISTS))


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["name"] for e in EXAMPLES])
def test_the_references_examples_with_its_own_lists(mozilla, example):
    result = mozilla.generate(example["in"])
    assert result.signature == example["signature"]
    if "proto_signature" in example:
        assert result.proto_signature == example["proto_signature"]


def test_mozillas_lists_load_as_they_are():
    lists = load_lists(need(SIGLISTS))
    assert "mozilla::detail::MutexImpl::lock" in lists.sentinels
    assert lists.irrelevant.match("mozalloc_abort")


def test_our_generic_lists_stay_the_default(mozilla):
    crash = {"os": "Linux", "crashing_thread": 0, "threads": [{"frames": [
        {"function": "pthread_mutex_lock"}, {"function": "mozilla::detail::MutexImpl::lock()"},
        {"function": "nsThread::ProcessNextEvent(bool)"}]}]}
    assert SignatureGenerator().lists.source == DEFAULT_LISTS_DIR
    # Mozilla's sentinel starts the signature at its own lock; ours know nothing of it.
    assert mozilla.generate(crash).signature == "mozilla::detail::MutexImpl::lock"
    assert SignatureGenerator().generate(crash).signature.startswith("pthread_mutex_lock")


def test_the_cli_takes_the_folder_as_it_is(corpus):
    walked = (corpus / "expected" / "windows-x86-test_app.stackwalk.json").read_text()
    out = io.StringIO()
    status = cli.main(["--lists", str(need(SIGLISTS))], stdin=io.StringIO(walked), stdout=out)
    assert (status, out.getvalue().strip()) == (0, "(anonymous namespace)::CrashFunction")
    example = EXAMPLES[0]
    out = io.StringIO()
    assert cli.main(["--lists", str(SIGLISTS)], stdin=io.StringIO(json.dumps(example["in"])),
                    stdout=out) == 0
    assert out.getvalue().strip() == example["signature"]
