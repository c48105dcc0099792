"""The reference's (Socorro's) crash schemas in ../shared/reference/socorro, walked as key
paths in the field registry's syntax (``a.b``, ``a[]`` for list items, ``*`` for any key).
Tests that use them skip where the folder is absent."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pytest

from harness.shared import REFERENCE

SOCORRO = REFERENCE / "socorro"
SCHEMAS = SOCORRO / "schemas"
SIGLISTS = SOCORRO / "signature" / "siglists"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"the reference data is absent ({path})")
    return path


@lru_cache(maxsize=2)
def schema(name: str) -> dict:
    import yaml

    with need(SCHEMAS / f"{name}.schema.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def raw_schema() -> dict:
    return schema("raw_crash")


def processed_schema() -> dict:
    return schema("processed_crash")


def resolve(root: dict, node: dict) -> dict:
    """``node`` with its ``$ref`` (``#/definitions/x``) merged in."""
    ref = node.get("$ref")
    if not ref:
        return node
    target = root
    for part in ref.lstrip("#/").split("/"):
        target = target[part]
    return {**resolve(root, target), **{k: v for k, v in node.items() if k != "$ref"}}


def is_public(node: dict) -> bool:
    return "public" in (node.get("permissions") or [])


def walk(root: dict) -> Iterator[tuple[str, dict]]:
    """Every (path, node) of the schema below its root, depth first."""
    stack: list[tuple[str, dict]] = [("", root)]
    while stack:
        path, node = stack.pop()
        node = resolve(root, node)
        if path:
            yield path, node
        prefix = f"{path}." if path else ""
        for key, child in (node.get("properties") or {}).items():
            stack.append((prefix + key, child))
        for _pattern, child in (node.get("pattern_properties") or {}).items():
            stack.append((prefix + "*", child))
        if isinstance(node.get("items"), dict):
            stack.append((path + "[]", node["items"]))


def find(root: dict, path: str) -> dict | None:
    """The schema node of a registry path, or None (a ``*`` key of ours matches any key of
    the schema; a key of ours matches the schema's patterns)."""
    node = resolve(root, root)
    for segment in path.split("."):
        key = segment.rstrip("[]")
        props = node.get("properties") or {}
        if key in props:
            child = props[key]
        elif "*" in key:
            matches = [v for k, v in props.items() if fnmatch.fnmatchcase(k, key)]
            matches += list((node.get("pattern_properties") or {}).values())
            child = matches[0] if matches else None
        else:
            child = next((v for pattern, v in (node.get("pattern_properties") or {}).items()
                          if re.search(pattern, key)), None)
        if child is None:
            return None
        node = resolve(root, child)
        for _ in range(segment.count("[]")):
            if not isinstance(node.get("items"), dict):
                return None
            node = resolve(root, node["items"])
    return node
