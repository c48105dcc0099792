"""The response shape of the reference: ``{hits, total, facets, errors}``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from crashline.webapp.supersearch.aggregations import shape_facets
from crashline.webapp.supersearch.query import SearchRequest


def _cell(value: object) -> object:
    if isinstance(value, list):
        if not value:
            return None
        return value[0] if len(value) == 1 else value
    return value


def shape_hits(request: SearchRequest, raw_hits: Iterable[Mapping]) -> list[dict]:
    columns = request.columns
    hits = []
    for hit in raw_hits:
        source = hit.get("_source") or {}
        row = {column: source.get(column) for column in columns}
        for column, value in row.items():
            if isinstance(value, list):  # multi-valued fields
                row[column] = _cell(value)
        hits.append(row)
    return hits


def shard_errors(result: Mapping) -> list[dict]:
    errors: dict[str, int] = {}
    for failure in (result.get("_shards") or {}).get("failures") or []:
        index = failure.get("index") or "unknown"
        errors[index] = errors.get(index, 0) + 1
    return [{"type": "shards", "index": index, "shards_count": count}
            for index, count in sorted(errors.items())]


def shape_response(request: SearchRequest, result: Mapping,
                   missing_indices: Iterable[str]) -> dict:
    hits_part = result.get("hits") or {}
    total = hits_part.get("total", 0)
    if isinstance(total, Mapping):
        total = total.get("value", 0)
    errors = [{"type": "missing_index", "index": name} for name in missing_indices]
    errors.extend(shard_errors(result))
    return {
        "hits": shape_hits(request, hits_part.get("hits") or []),
        "total": total,
        "facets": shape_facets(request.facets, result.get("aggregations")),
        "errors": errors,
    }
