"""Index settings and mapping derived from the field registry."""

from __future__ import annotations

from crashline.common.fields import FIELDS, FieldDef, FieldType

KEYWORD_MAX_CHARS = 10_000
TEXT_MAX_BYTES = 32_766

_TYPES: dict[FieldType, dict] = {
    FieldType.STRING: {
        "type": "keyword",
        "ignore_above": KEYWORD_MAX_CHARS,
        "fields": {"full": {"type": "text"}},
    },
    FieldType.ENUM: {"type": "keyword", "ignore_above": KEYWORD_MAX_CHARS},
    FieldType.INTEGER: {"type": "integer"},
    FieldType.LONG: {"type": "long"},
    FieldType.FLOAT: {"type": "double"},
    FieldType.BOOLEAN: {"type": "boolean"},
    FieldType.DATE: {"type": "date"},
}


def field_mapping(field: FieldDef) -> dict:
    return dict(_TYPES[field.type])


def index_body(fields: tuple[FieldDef, ...] = FIELDS, shards: int = 1, replicas: int = 0) -> dict:
    """The body of a create-index request. Unknown fields are not indexed (``dynamic: false``)
    so a stray annotation can never blow up the mapping."""
    return {
        "settings": {
            "index": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                "max_result_window": 100_000,
            }
        },
        "mappings": {
            "dynamic": False,
            "properties": {
                "crash_id": {"type": "keyword"},
                **{f.name: field_mapping(f) for f in fields},
            },
        },
    }
