"""The data dictionary: every annotation and processed-crash key Crashline knows, who may
see it and what it is, from the field registry and the annotation policy (the sources
redaction reads too). For the API and the pages alike."""

from __future__ import annotations

from crashline.common.annotations import AnnotationPolicy
from crashline.common.fields import FIELDS, PROCESSED_KEYS, PUBLIC, VIEW_PII


def _permission(public: bool) -> str:
    return PUBLIC if public else VIEW_PII


def data_dictionary(policy: AnnotationPolicy) -> dict:
    filled: dict[str, list[str]] = {}
    for f in FIELDS:
        for name in f.annotations:
            filled.setdefault(name, []).append(f.name)
    names = sorted(policy.public | policy.protected | set(filled), key=str.lower)
    annotations = {name: {"permission": _permission(policy.is_public(name)),
                          "search_fields": filled.get(name, [])} for name in names}
    processed = {f.source_path: {"permission": f.permission, "description": f.description,
                                 "search_field": f.name} for f in FIELDS}
    for key in PROCESSED_KEYS:
        processed.setdefault(key.path, {"permission": _permission(key.public),
                                        "description": key.description})
    return {"annotations": annotations,
            "processed_crash": dict(sorted(processed.items()))}
