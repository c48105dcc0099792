"""Signatures for the real stack-walker output in ../shared/corpus (skipped where it is absent)."""

import json

import pytest
from harness.shared import CORPUS

from crashline.common.signature import (
    cli,
    crash_data_from_processed_crash,
    crash_data_from_stackwalker_json,
    generate_signature,
)

EXPECTED = CORPUS / "expected"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not EXPECTED.is_dir(), reason=f"corpus not found at {EXPECTED}"),
]

CASES = [
    ("windows-x86-test_app.stackwalk.json", "(anonymous namespace)::CrashFunction"),
    ("linux-x86_64-mini.stackwalk.json", "crash"),  # no symbols: the module name
]


@pytest.mark.parametrize("name, signature", CASES)
def test_corpus_stackwalker_json(name: str, signature: str) -> None:
    json_dump = json.loads((EXPECTED / name).read_text())
    assert generate_signature(crash_data_from_stackwalker_json(json_dump)).signature == signature
    processed = {"json_dump": json_dump, "mdsw_status_string": json_dump.get("status")}
    assert generate_signature(crash_data_from_processed_crash(processed)).signature == signature


def test_corpus_through_the_command(capsys) -> None:
    files = [str(EXPECTED / name) for name, _ in CASES]
    assert cli.main(files) == 0
    assert capsys.readouterr().out.splitlines() == [signature for _, signature in CASES]
