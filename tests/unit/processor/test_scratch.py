"""Each worker thread's scratch folder: the dumps and stack-walker files of one crash at a
time, emptied after every crash, removed when the processor closes."""

import datetime as dt
import threading

from harness.crashes import store_crash

from crashline.common.crashid import create_crash_id
from crashline.processor.pipeline import Pipeline, Rule
from crashline.processor.processor import CrashProcessor


class LeavesFiles(Rule):
    """Records the crash's scratch folder and what is in it, and leaves more behind."""

    def __init__(self):
        self.seen = []

    def action(self, crash):
        self.seen.append((crash.tmpdir, sorted(p.name for p in crash.tmpdir.iterdir())))
        (crash.tmpdir / "walker-output.json").write_text("{}")
        (crash.tmpdir / "nested").mkdir()
        (crash.tmpdir / "nested" / "file").write_text("x")


def stored(storage, dump=b"MDMP"):
    crash_id = create_crash_id(dt.datetime(2025, 8, 27, tzinfo=dt.UTC))
    store_crash(storage, crash_id, {"ProductName": "Widget"}, {"upload_file_minidump": dump})
    return crash_id


def test_a_thread_reuses_its_folder_and_each_crash_finds_it_empty(storage, tmp_path):
    rule = LeavesFiles()
    processor = CrashProcessor(storage, Pipeline({"default": [rule]}), [],
                               tmp_dir=tmp_path)
    processor.process(stored(storage))
    processor.process(stored(storage))
    other = threading.Thread(target=processor.process, args=(stored(storage),))
    other.start()
    other.join()
    (first, files1), (second, files2), (third, files3) = rule.seen
    assert first == second != third  # one folder per thread
    assert files1 == files2 == files3 == ["upload_file_minidump.dmp"]
    assert list(first.iterdir()) == []  # emptied after the crash
    processor.close()
    assert not first.exists() and not third.exists()


def test_a_folder_that_cannot_be_emptied_is_replaced(storage, tmp_path, monkeypatch):
    rule = LeavesFiles()
    processor = CrashProcessor(storage, Pipeline({"default": [rule]}), [],
                               tmp_dir=tmp_path)
    import crashline.processor.processor as module

    def refuse(folder):
        raise PermissionError("read-only file system")

    with monkeypatch.context() as patch:
        patch.setattr(module, "_empty", refuse)
        processor.process(stored(storage))
    processor.process(stored(storage))
    (first, _), (second, files) = rule.seen
    assert first != second and not first.exists()
    assert files == ["upload_file_minidump.dmp"]
    processor.close()
