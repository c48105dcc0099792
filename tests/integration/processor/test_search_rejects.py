"""A document the engine refuses loses the refused field, which the processed crash names
in ``removed_fields``: the same path on every engine of this run."""

from __future__ import annotations

import pytest

from crashline.common.crashid import create_crash_id
from crashline.processor.destinations import SearchDestination

pytestmark = pytest.mark.integration


def test_a_refused_field_is_removed_and_named(engine_backend):
    crash_id = create_crash_id()
    processed = {
        "uuid": crash_id, "date_processed": "2026-09-18T10:00:00+00:00",
        "product": "Fennec", "signature": "OOM | small",
        # a date field the engine cannot parse: the document is refused for it
        "completed_datetime": "the day after tomorrow",
    }
    destination = SearchDestination(engine_backend, refresh=True)
    amendments = destination.save(crash_id, processed)
    assert amendments == {"removed_fields": ["processed_date"]}
    processed.update(amendments)  # as the processor does, before storing the crash again

    document = engine_backend.get_document(destination.index_name(processed), crash_id)
    assert document["signature"] == "OOM | small" and document["product"] == "Fennec"
    assert "processed_date" not in document

    # The same crash again (a reprocessing) skips the field it knows is refused.
    assert destination.save(crash_id, processed) is None


def test_a_document_refused_in_a_bulk_request_costs_its_own_crash_only(engine_backend):
    crashes = [(create_crash_id(), {
        "date_processed": "2026-09-18T10:00:00+00:00", "product": "Fennec",
        "signature": f"OOM | small {i}", "completed_datetime": "2026-09-18T10:00:01+00:00"})
        for i in range(3)]
    crashes[1][1]["completed_datetime"] = "the day after tomorrow"  # refused in one document
    destination = SearchDestination(engine_backend, refresh=True)
    assert destination.save_batch(crashes) == [None, {"removed_fields": ["processed_date"]},
                                               None]
    for i, (crash_id, processed) in enumerate(crashes):
        document = engine_backend.get_document(destination.index_name(processed), crash_id)
        assert document["signature"] == f"OOM | small {i}"
        assert ("processed_date" in document) is (i != 1)
