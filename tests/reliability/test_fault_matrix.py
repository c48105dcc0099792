"""The fault matrix (matrix.py): crashes through the real stack while its parts fail one
after another and together; no accepted crash may be lost.

Once with crash storage on S3 (every fault, alone and combined) and once on a local disk of
its own (its faults, alone and combined with others; see faults.schedule). In ``make test``
a slice: ``CRASHLINE_RELIABILITY_CRASHES`` crashes (1,000) with the faults at
``CRASHLINE_RELIABILITY_SCALE`` (0.2) of their full duration; ``make test-reliability``
runs 10,000 crashes with full-length faults.
"""

from __future__ import annotations

import os

import pytest
from matrix import MatrixConfig, run_matrix
from sizes import size

CRASHES = int(size("RELIABILITY_CRASHES", 1000))
SCALE = size("RELIABILITY_SCALE", 0.2)
STORAGES = os.environ.get("CRASHLINE_RELIABILITY_STORAGES", "s3,local").split(",")

pytestmark = pytest.mark.reliability


@pytest.mark.timeout(int(1800 + CRASHES * 0.6))
@pytest.mark.parametrize("storage", STORAGES)
def test_no_accepted_crash_is_lost(storage, figures, capsys):
    if storage == "local" and os.geteuid() != 0:
        pytest.skip("the local-disk faults mount a disk of their own, which needs root")
    with capsys.disabled():  # the run says what it does as it goes
        result = run_matrix(MatrixConfig(crashes=CRASHES, storage=storage, scale=SCALE),
                            say=lambda text: print(f"  matrix[{storage}] {text}", flush=True))
    summary = result.summary()
    figures(f"fault matrix, storage {storage}", summary)
    audit = result.audit
    report = "\n".join(summary)
    assert not result.scene_errors, report  # every fault was made and undone
    assert audit.accepted == CRASHES, report  # clients kept every report until accepted
    assert result.drained, report
    assert audit.lost == 0, report
    assert audit.duplicated == 0, report
    assert audit.failed_without_reason == 0, report
    assert audit.unanswered_settled == audit.unanswered, report
    assert not result.deaths, report  # no service died of anything but a fault
    assert not result.leaks.found, report
    assert not [job for job in result.jobs if not job.endswith(" success")], report
    # The crontabber's ledger agrees. Receipts of a SIGKILLed collector's last second are
    # lost by design (the README's "ledger"); anything not processed must be failed.
    differences = dict(result.ledger["differences"])
    differences.pop("stored_not_received", None)
    assert differences.pop("stored_not_processed", 0) <= audit.failed, report
    assert not differences, report
    assert result.ledger["stored"] == audit.stored + audit.unanswered, report
