"""Who the crash is: its id, and a hash of its minidump (finds byte-identical resubmissions)."""

from __future__ import annotations

import hashlib

from crashline.common.storage.keys import MAIN_DUMP
from crashline.processor.pipeline import Crash, Rule


class IdentifierRule(Rule):
    def action(self, crash: Crash) -> None:
        crash.processed["crash_id"] = crash.crash_id
        crash.processed["uuid"] = crash.crash_id


class MinidumpSha256HashRule(Rule):
    """The collector's checksum when it recorded one, else hashed here."""

    def action(self, crash: Crash) -> None:
        metadata = crash.raw_crash.get("metadata")
        checksums = metadata.get("dump_checksums") if isinstance(metadata, dict) else None
        recorded = checksums.get(MAIN_DUMP) if isinstance(checksums, dict) else None
        if isinstance(recorded, str) and recorded:
            crash.processed["minidump_sha256_hash"] = recorded
            return
        path = crash.dumps.get(MAIN_DUMP)
        if path is None:
            crash.processed["minidump_sha256_hash"] = ""
            return
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        crash.processed["minidump_sha256_hash"] = digest.hexdigest()
