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
