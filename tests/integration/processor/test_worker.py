"""A real worker process against the real services, fed synthetic minidumps."""

from __future__ import annotations

import json
import secrets
import subprocess
import uuid

import pytest
import requests
from harness.services import BIN, wait_for
from processor_support.minidump import MinidumpSpec, Module, build_minidump

pytestmark = pytest.mark.integration


def signature_rows(database, signature):
    with database.transaction() as cur:
        cur.execute("SELECT * FROM signatures WHERE signature = %s", (signature,))
        return cur.fetchall()


def test_synthetic_crash_processed_searchable_and_recorded(start_worker, submit, wait_processed,
                                                           search_backend, database):
    worker = start_worker()
    crash_id = submit(build_minidump(), {"ProductName": "Crashy", "Version": "2.5.1"})
    processed, document = wait_processed(crash_id, worker=worker)

    assert processed["uuid"] == crash_id
    assert processed["signature"] == "CrashHere"
    assert processed["proto_signature"] == "CrashHere | main"
    assert processed["reason"] == "EXCEPTION_ACCESS_VIOLATION_WRITE"
    assert int(processed["address"], 16) == 0x45
    assert (processed["os_name"], processed["cpu_arch"]) == ("Windows NT", "x86")
    assert processed["mdsw_status_string"] == "OK"
    assert processed["json_dump"]["threads"][0]["frames"][0]["function"] == "CrashHere(int)"
    assert processed["build"] == 20250101000000 and processed["major_version"] == 2
    assert processed["success"] is True

    assert document["signature"] == "CrashHere"
    assert document["build_id"] == 20250101000000
    assert "json_dump" not in document

    [row] = signature_rows(database, "CrashHere")
    assert row["first_build"] == 20250101000000
    with database.transaction() as cur:
        cur.execute("SELECT * FROM product_versions WHERE product = 'Crashy' AND version = %s",
                    ("2.5.1",))
        [version] = cur.fetchall()
    assert version["release_channel"] == "nightly"
    assert version["first_date"] <= version["last_date"]


def test_signature_first_date_and_build_never_move_later(start_worker, submit, wait_processed,
                                                         database):
    worker = start_worker()
    # a module of its own (no symbols): a signature no earlier run recorded
    name = f"m{uuid.uuid4().hex[:12]}"
    module = Module(name=f"c:\\x\\{name}.exe", debug_file=f"{name}.pdb")
    dump = build_minidump(MinidumpSpec(modules=[module]))
    first = submit(dump, {"BuildID": "20240101000000"})
    processed, _ = wait_processed(first, worker=worker)
    signature = processed["signature"]
    assert name in signature
    [before] = signature_rows(database, signature)
    second = submit(dump, {"BuildID": "20250101000000"})
    assert wait_processed(second, worker=worker)[0]["signature"] == signature
    [after] = signature_rows(database, signature)
    assert after["first_build"] == before["first_build"] == 20240101000000
    assert after["first_date"] == before["first_date"]
    # an older build seen later moves first_build earlier
    third = submit(dump, {"BuildID": "20230101000000"})
    wait_processed(third, worker=worker)
    [oldest] = signature_rows(database, signature)
    assert oldest["first_build"] == 20230101000000
    assert oldest["first_date"] == before["first_date"]


def test_over_long_product_and_version_are_recorded_at_once(start_worker, submit,
                                                            wait_processed, database):
    from crashline.processor.destinations import KEY_MAX_BYTES

    worker = start_worker()
    product = f"Long-{secrets.token_urlsafe(4000)}"  # random: PostgreSQL cannot compress it
    crash_id = submit(build_minidump(), {"ProductName": product, "Version": product})
    processed, document = wait_processed(crash_id, worker=worker)
    assert processed["product"] == processed["version"] == product  # kept whole there

    def recorded():
        with database.transaction() as cur:
            cur.execute("SELECT version FROM product_versions WHERE product = %s",
                        (product[:KEY_MAX_BYTES],))
            return cur.fetchall()

    assert wait_for(recorded, 30, "the version row") == [{"version": product[:KEY_MAX_BYTES]}]
    assert "retry 2" not in worker.logs()


def test_additional_minidumps_are_walked(start_worker, submit, wait_processed):
    worker = start_worker()
    crash_id = submit(build_minidump(), extra_dumps={
        "upload_file_minidump_browser": build_minidump(MinidumpSpec(crash_address=0x99))})
    processed, document = wait_processed(crash_id, worker=worker)
    assert processed["additional_minidumps"] == ["upload_file_minidump_browser"]
    extra = processed["upload_file_minidump_browser"]
    assert extra["mdsw_status_string"] == "OK"
    assert int(extra["json_dump"]["crash_info"]["address"], 16) == 0x99
    assert document["additional_minidumps"] == ["upload_file_minidump_browser"]


def test_empty_and_garbage_dumps_give_empty_signatures(start_worker, submit, wait_processed):
    worker = start_worker()
    empty = submit(b"")
    garbage = submit(b"this is no minidump at all" * 10)
    processed, _ = wait_processed(empty, worker=worker)
    assert processed["mdsw_status_string"] == "EmptyMinidump"
    assert processed["signature"] == "EMPTY: no frame data available; EmptyMinidump"
    processed, _ = wait_processed(garbage, worker=worker)
    assert processed["mdsw_status_string"] not in ("OK", "")
    assert processed["signature"].startswith("EMPTY: no frame data available; ")
    assert "minidump-stackwalk" in processed["processor_notes"]
    assert worker.proc.poll() is None


def test_crash_without_a_dump(start_worker, submit, wait_processed):
    worker = start_worker()
    processed, _ = wait_processed(submit(None, {"plat": "Linux"}), worker=worker)
    assert processed["signature"] == "EMPTY: no frame data available"
    assert processed["os_name"] == "Linux"


def test_regenerate_signature_and_priority_queue(start_worker, submit, wait_processed,
                                                 crash_storage):
    worker = start_worker()
    crash_id = submit(build_minidump())
    first, _ = wait_processed(crash_id, worker=worker)
    crash_storage.put_processed_crash(crash_id, {**first, "signature": "stale"})
    submit(None, crash_id=crash_id, queue="priority", ruleset="regenerate_signature")

    def regenerated():
        processed = crash_storage.get_processed_crash(crash_id)
        return processed if processed["signature"] != "stale" else None

    again = wait_for(regenerated, 30, "the signature to be regenerated")
    assert again["signature"] == "CrashHere"
    assert again["processor_history"][0] == first["processor_notes"]
    assert again["json_dump"] == first["json_dump"]


def test_missing_raw_crash_is_acked_and_poison_goes_to_failed(start_worker, submit,
                                                              rabbitmq_client, crash_storage,
                                                              wait_processed, worker_env):
    from crashline.common.crashid import create_crash_id
    from crashline.common.failed import take_failed

    worker = start_worker()
    names = rabbitmq_client.names
    ghost = create_crash_id()
    rabbitmq_client.publish(names.standard, ghost)
    rabbitmq_client.publish(names.standard, "not-a-crash-id")
    rabbitmq_client.publish(names.reprocessing, f"{create_crash_id()}:no_such_ruleset")
    healthy = submit(build_minidump())
    wait_processed(healthy, worker=worker)  # the worker goes on after poison

    wait_for(lambda: rabbitmq_client.depth(names.failed) == 2, 30, "two failed crashes")
    assert not crash_storage.has_processed_crash(ghost)
    assert rabbitmq_client.depth(names.standard) == 0

    # the CLI lists them with their reasons, and leaves them in the queue
    listing = subprocess.run([str(BIN / "crashline"), "failed", "list"], env=worker_env,
                             capture_output=True, text=True, check=True)
    assert "not-a-crash-id" in listing.stdout and "InvalidCrashId" in listing.stdout
    assert "no_such_ruleset" in listing.stdout and "UnknownRuleset" in listing.stdout
    assert rabbitmq_client.depth(names.failed) == 2

    worker.stop()
    requeue = subprocess.run([str(BIN / "crashline"), "failed", "requeue", "not-a-crash-id"],
                             env=worker_env, capture_output=True, text=True)
    assert requeue.returncode == 0, requeue.stderr
    assert rabbitmq_client.depth(names.failed) == 1
    assert rabbitmq_client.depth(names.standard) == 1
    requeue = subprocess.run([str(BIN / "crashline"), "failed", "requeue", "--all"],
                             env=worker_env, capture_output=True, text=True)
    assert requeue.returncode == 0, requeue.stderr
    assert rabbitmq_client.depth(names.failed) == 0
    assert rabbitmq_client.depth(names.reprocessing) == 1
    rabbitmq_client.channel.queue_purge(queue=names.standard)
    rabbitmq_client.channel.queue_purge(queue=names.reprocessing)
    held = take_failed(rabbitmq_client)
    assert held == []


def test_health_version_and_metrics(start_worker, submit, wait_processed):
    worker = start_worker()
    wait_processed(submit(build_minidump()), worker=worker)
    heartbeat = requests.get(f"{worker.url}/__heartbeat__", timeout=30)
    assert heartbeat.status_code == 200, heartbeat.text
    assert set(heartbeat.json()["checks"]) == {"storage", "search", "database", "rabbitmq",
                                               "stackwalker"}
    assert requests.get(f"{worker.url}/__version__", timeout=5).json()["name"] == (
        "crashline-processor")
    text = requests.get(f"{worker.url}/metrics", timeout=5).text
    assert 'crashline_processor_crashes_total{queue=' in text
    assert "crashline_processor_stackwalk_seconds_count" in text
    assert "crashline_processor_queue_lag_seconds_count" in text
    assert 'crashline_processor_rule_seconds_count{rule="stackwalk.MinidumpStackwalkRule"' in text


def test_sigterm_exits_cleanly(start_worker):
    worker = start_worker()
    assert worker.stop() == 0
    assert "stopped" in worker.logs()


def test_process_command_prints_the_processed_crash(submit, worker_env, crash_storage,
                                                    rabbitmq_client):
    crash_id = submit(build_minidump())
    # no worker: the CLI does it
    rabbitmq_client.channel.queue_purge(queue=rabbitmq_client.names.standard)
    out = subprocess.run([str(BIN / "crashline"), "process", f"bp-{crash_id}"],
                         env=worker_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    processed = json.loads(out.stdout)
    assert processed["signature"] == "CrashHere"
    assert not crash_storage.has_processed_crash(crash_id)  # printing only
    out = subprocess.run([str(BIN / "crashline"), "process", "--save", crash_id],
                         env=worker_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert crash_storage.get_processed_crash(crash_id)["signature"] == "CrashHere"
