"""The ledger's vocabulary, shared by the crontabber (which counts) and the webapp (which
serves the counts): the kinds of difference between the stages of an hour's crashes."""

from __future__ import annotations

RECEIVED_NOT_STORED = "received_not_stored"
STORED_NOT_RECEIVED = "stored_not_received"
STORED_NOT_PROCESSED = "stored_not_processed"
PROCESSED_NOT_INDEXED = "processed_not_indexed"
INDEXED_NOT_PROCESSED = "indexed_not_processed"
INDEXED_TWICE = "indexed_twice"

# kind -> what it means, in pipeline order
KINDS: dict[str, str] = {
    RECEIVED_NOT_STORED: "the collector's receipt, but no raw crash (crash storage lost it)",
    STORED_NOT_RECEIVED: "a raw crash, but no receipt (the collector failed to write it)",
    STORED_NOT_PROCESSED: "a raw crash meant to be processed, but no processed crash "
                          "(queued, failed, or never queued)",
    PROCESSED_NOT_INDEXED: "a processed crash, but no search document",
    INDEXED_NOT_PROCESSED: "a search document, but no processed crash",
    INDEXED_TWICE: "search documents in more than one index",
}
