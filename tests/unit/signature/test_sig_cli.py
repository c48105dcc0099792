"""``crashline signature``."""

import io
import json
from pathlib import Path

import pytest

from crashline.common.signature import cli

FIREFOX_LIKE = str(Path(__file__).parent / "data" / "firefox_like_lists")
CRASH = {"threads": [{"frames": [{"function": "abort"}, {"function": "foo::Bar(int)"}]}]}


def run(argv, stdin_text="", capsys=None):
    out = io.StringIO()
    status = cli.main(argv, stdin=io.StringIO(stdin_text), stdout=out)
    return status, out.getvalue().splitlines()


def test_single_document_from_stdin() -> None:
    assert run([], json.dumps(CRASH, indent=2)) == (0, ["foo::Bar"])


def test_json_lines_and_json_output(tmp_path: Path) -> None:
    path = tmp_path / "crashes.jsonl"
    path.write_text(json.dumps(CRASH) + "\n\n" + json.dumps({"mdsw_status_string": "X"}) + "\n")
    status, lines = run(["--json", str(path)])
    assert status == 0
    assert [json.loads(line) for line in lines] == [
        {"signature": "foo::Bar", "proto_signature": "abort | foo::Bar", "notes": []},
        {
            "signature": "EMPTY: no frame data available; X",
            "proto_signature": "",
            "notes": ["SignatureGenerationRule: no frame data for crashing thread (0)"],
        },
    ]


def test_bad_lines_are_reported_and_the_rest_processed(tmp_path: Path, capsys) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(CRASH) + "\n{broken\n[1]\n" + json.dumps(CRASH) + "\n")
    status, lines = run([str(path), str(tmp_path / "missing.json")])
    assert status == 1
    assert lines == ["foo::Bar", "foo::Bar"]
    err = capsys.readouterr().err
    assert f"{path}:2: invalid JSON" in err
    assert f"{path}:3: expected a JSON object" in err
    assert "missing.json: cannot read" in err


def test_bad_single_document_names_its_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "one.json"
    path.write_text('{\n  "threads": [\n    oops\n  ]\n}\n')
    status, lines = run([str(path)])
    assert (status, lines) == (1, [])
    assert f"{path}:3: invalid JSON" in capsys.readouterr().err


def test_lists_option_and_processed_crash_input(tmp_path: Path) -> None:
    processed = {
        "json_dump": {
            "crash_info": {"crashing_thread": 0},
            "threads": [
                {
                    "frames": [
                        {"function": "MOZ_Crash()"},
                        {"function": "memcpy"},
                        {"function": "a::B()"},
                    ]
                }
            ],
        }
    }
    assert run(["--lists", FIREFOX_LIKE], json.dumps(processed)) == (0, ["memcpy | a::B"])
    # With our default lists MOZ_Crash is just a function.
    assert run([], json.dumps(processed)) == (0, ["MOZ_Crash"])


def test_stackwalker_json_input() -> None:
    dump = {
        "crash_info": {"crashing_thread": 0, "type": "EXCEPTION_STACK_OVERFLOW"},
        "threads": [{"frames": [{"function": "f()"}]}],
    }
    assert run([], json.dumps(dump)) == (0, ["stackoverflow | f"])


def test_bad_lists_dir(tmp_path: Path, capsys) -> None:
    assert run(["--lists", str(tmp_path / "nope")]) == (2, [])
    assert "signature lists directory not found" in capsys.readouterr().err


def test_lists_dir_from_settings(monkeypatch, tmp_path: Path) -> None:
    from crashline.common.settings import get_settings

    monkeypatch.setenv("CRASHLINE_SIGNATURE_LISTS_DIR", FIREFOX_LIKE)
    get_settings.cache_clear()
    try:
        doc = {"threads": [{"frames": [{"function": "MOZ_Crash()"}, {"function": "x::Y()"}]}]}
        assert run([], json.dumps(doc)) == (0, ["x::Y"])
    finally:
        get_settings.cache_clear()


class FakeStorage:
    def __init__(self, crashes):
        self.crashes = crashes

    def get_processed_crash(self, crash_id):
        if crash_id not in self.crashes:
            raise KeyError(crash_id)
        return self.crashes[crash_id]


@pytest.fixture
def storage(monkeypatch):
    import crashline.common.storage as storage_module

    fake = FakeStorage({"id-1": {"json_dump": {"threads": CRASH["threads"]}}})
    monkeypatch.setattr(storage_module, "storage_from_settings", lambda: fake)
    return fake


def test_crash_ids_from_storage(storage, tmp_path: Path, capsys) -> None:
    assert run(["--crash-id", "id-1", "id-2"])[1] == ["foo::Bar"]
    assert "id-2: processed crash not found" in capsys.readouterr().err
    ids = tmp_path / "ids.txt"
    ids.write_text("id-1\n\nid-1\n")
    assert run(["--crash-ids-from", str(ids)]) == (0, ["foo::Bar", "foo::Bar"])
    assert run(["--crash-ids-from", "-"], "id-1\n") == (0, ["foo::Bar"])


def test_files_and_crash_ids_are_exclusive(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        cli.main(["file.json", "--crash-id", "x"])
