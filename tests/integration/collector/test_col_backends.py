"""The collector against the real RabbitMQ and each storage backend."""

from __future__ import annotations

import hashlib
import os
import re

import pytest

from crashline.collector.app import self_check
from crashline.collector.client import build_request
from crashline.collector.settings import RULES_DIR
from crashline.common.storage import keys

pytestmark = pytest.mark.integration

ANNOTATIONS = {"ProductName": "Firefox", "Version": "1", "ReleaseChannel": "nightly"}
DUMP = os.urandom(300_000)


def post(client, annotations=ANNOTATIONS, dumps=None, **kwargs):
    body, headers = build_request(annotations,
                                  {"upload_file_minidump": DUMP} if dumps is None else dumps,
                                  **kwargs)
    return client.simulate_post("/submit", body=body, headers=headers)


def crash_id_of(result) -> str:
    match = re.fullmatch(r"CrashID=bp-([0-9a-f-]{36})\n", result.text)
    assert result.status_code == 200 and match, (result.status_code, result.text)
    return match.group(1)


def queued_ids(rabbitmq_client, queue) -> list[str]:
    ids = []
    while (message := rabbitmq_client.get(queue)) is not None:
        ids.append(message.body)
        rabbitmq_client.ack(message)
    return ids


def test_accepted_crash_is_stored_under_its_keys_and_queued(make_collector, rabbitmq_client):
    client, settings, storage = make_collector()
    crash_id = crash_id_of(post(client, dumps={"upload_file_minidump": DUMP,
                                               "memory_report": b"{}"}, compress=True))
    store = storage.store
    assert store.exists(f"v1/raw_crash/20{crash_id[-6:]}/{crash_id}")
    assert store.get(f"v1/dump_names/{crash_id}") == b'["memory_report","upload_file_minidump"]'
    assert store.get(f"v1/dump/{crash_id}") == DUMP
    assert store.get(f"v1/memory_report/{crash_id}") == b"{}"
    raw = storage.get_raw_crash(crash_id)
    assert raw["metadata"]["dump_checksums"]["upload_file_minidump"] == \
        hashlib.sha256(DUMP).hexdigest()
    assert raw["metadata"]["payload_compressed"] == "1"
    assert queued_ids(rabbitmq_client, rabbitmq_client.names.standard) == [crash_id]


def test_deferred_crash_is_stored_not_queued(make_collector, rabbitmq_client, tmp_path):
    rules = tmp_path / "defer.toml"
    rules.write_text('[[rules]]\nname = "keep_for_later"\nresult = "defer"\n')
    client, settings, storage = make_collector(collector_throttle_rules=rules)
    crash_id = crash_id_of(post(client))
    assert crash_id[-7] == "1"
    assert storage.has_raw_crash(crash_id) and storage.get_dump(crash_id) == DUMP
    assert queued_ids(rabbitmq_client, rabbitmq_client.names.standard) == []


def test_rejected_and_fake_accepted_crashes_leave_nothing(make_collector, rabbitmq_client):
    client, settings, storage = make_collector(
        collector_throttle_rules=RULES_DIR / "example_reference.toml")
    before = set(storage.store.list_keys("v1/"))
    result = post(client, {"ProductName": "Netscape"})
    assert (result.status_code, result.text) == (200, "Discarded=rule_unsupported_product")
    fake_id = crash_id_of(post(client, {"ProductName": "B2G"}))
    assert fake_id[-7] == "3"
    assert set(storage.store.list_keys("v1/")) == before
    assert queued_ids(rabbitmq_client, rabbitmq_client.names.standard) == []


def test_malformed_crash_leaves_nothing(make_collector, rabbitmq_client):
    client, settings, storage = make_collector()
    before = set(storage.store.list_keys("v1/"))
    body, headers = build_request(ANNOTATIONS, {"raw_crash": b"x"})
    result = client.simulate_post("/submit", body=body, headers=headers)
    assert (result.status_code, result.text) == (400, "Discarded=malformed_invalid_dump_name")
    assert set(storage.store.list_keys("v1/")) == before
    assert queued_ids(rabbitmq_client, rabbitmq_client.names.standard) == []


def test_big_dump_is_spooled_and_streamed_to_storage(make_collector, rabbitmq_client):
    client, settings, storage = make_collector(collector_dump_memory=256 * 1024)
    big = os.urandom(3 * 1024 * 1024)
    crash_id = crash_id_of(post(client, dumps={"upload_file_minidump": big}))
    assert storage.get_dump(crash_id) == big
    assert queued_ids(rabbitmq_client, rabbitmq_client.names.standard) == [crash_id]


def test_unreachable_queue_records_pending_publish(make_collector, rabbitmq_client):
    client, settings, storage = make_collector(
        rabbitmq_url="amqp://guest:guest@127.0.0.1:1/%2F", collector_publish_attempts=2)
    crash_id = crash_id_of(post(client))
    assert storage.has_raw_crash(crash_id)
    pending = dict(storage.list_pending_publish())
    assert pending[crash_id]["queue"] == rabbitmq_client.names.standard
    assert storage.store.exists(keys.pending_publish_key(crash_id))
    storage.delete_pending_publish(crash_id)
    assert crash_id not in dict(storage.list_pending_publish())


def test_self_check_passes_with_working_backends(settings_from_env, backend, rabbitmq_client):
    assert self_check(settings_from_env(storage_backend=backend)) == []


def test_self_check_names_what_does_not_work(settings_from_env, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    problems = self_check(settings_from_env(
        storage_backend="local", storage_path=not_a_folder,
        rabbitmq_url="amqp://guest:guest@127.0.0.1:1/%2F"))
    assert len(problems) == 2
    assert problems[0].startswith("crash storage (local) does not work")
    assert problems[1].startswith("RabbitMQ does not work")
    problems = self_check(settings_from_env(storage_backend="s3",
                                            s3_endpoint_url="http://127.0.0.1:1"))
    assert len(problems) == 1 and problems[0].startswith("crash storage (s3) does not work")


def test_publisher_pool_shares_few_connections_between_many_requests(crashline_env,
                                                                      rabbitmq_client):
    import threading

    from crashline.collector.publisher import PublisherPool

    queue = rabbitmq_client.names.standard
    rabbitmq_client.channel.queue_purge(queue=queue)
    pool = PublisherPool(crashline_env["CRASHLINE_RABBITMQ_URL"], rabbitmq_client.names, 2)
    sent = [f"pool-{i}-{j}" for i in range(12) for j in range(5)]

    def publish(bodies):
        for body in bodies:
            pool.publish(queue, body)

    threads = [threading.Thread(target=publish, args=(sent[i * 5:(i + 1) * 5],))
               for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert sorted(queued_ids(rabbitmq_client, queue)) == sorted(sent)  # all confirmed
        assert pool._idle.qsize() == 2  # two connections served twelve concurrent requests
        pool.check()
    finally:
        pool.close()
