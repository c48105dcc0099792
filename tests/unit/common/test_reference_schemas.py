"""The field registry against the reference's schemas (../shared/reference/socorro):
every name that claims to be the reference's exists there, and every field the reference
protects, nested ones included, is protected here."""

from __future__ import annotations

import pytest
from harness.reference import find, is_public, processed_schema, raw_schema, walk

from crashline.common.fields import (
    CRASHPAD_ANNOTATIONS,
    FIELDS,
    PROCESSED_KEYS,
    build_tree,
    processed_tree,
)


def resolve_tree(tree, path: str):
    """The registry's node for a schema path, or None (undeclared: protected)."""
    node = tree
    for segment in path.split("."):
        node = node.child(segment.rstrip("[]"))
        for _ in range(segment.count("[]")):
            node = node.items if node is not None else None
        if node is None:
            return None
    return node


@pytest.mark.parametrize("field", [f for f in FIELDS if f.reference], ids=lambda f: f.name)
def test_reference_fields_exist_in_the_processed_schema(field):
    node = find(processed_schema(), field.source_path)
    assert node is not None, f"{field.name}: {field.source_path} is not a reference field"
    source = node.get("source_annotation")
    if field.annotations and source:
        assert field.annotations[0] == source, (
            f"{field.name}: the reference fills it from {source}, not {field.annotations[0]}")


@pytest.mark.parametrize("field", [f for f in FIELDS if f.annotations], ids=lambda f: f.name)
def test_annotation_names_are_the_references_or_crashpads(field):
    known = set(raw_schema()["properties"]) | CRASHPAD_ANNOTATIONS
    unknown = [a for a in field.annotations if a not in known]
    assert not unknown or not field.reference, f"{field.name}: {unknown} are not annotations"


def test_nested_keys_exist_in_the_processed_schema():
    missing = [k.path for k in PROCESSED_KEYS
               if k.reference and find(processed_schema(), k.path) is None]
    assert missing == []


def test_what_the_reference_protects_is_protected_here():
    tree = processed_tree()
    protected = [path for path, node in walk(processed_schema()) if not is_public(node)]
    assert len(protected) > 20  # registers, collector metadata, memory report...
    leaking = [path for path in protected
               if (node := resolve_tree(tree, path)) is not None and node.visible]
    assert leaking == []


def test_the_check_catches_a_leak():
    # The same check over a registry that declares frames' registers public fails.
    tree = build_tree([("json_dump.threads[].frames[].registers.*", True)])
    assert resolve_tree(tree, "json_dump.threads[].frames[].registers.*").visible
    assert find(processed_schema(), "json_dump.threads[].frames[].registers") is not None


def test_search_fields_follow_the_references_permissions():
    wrong = []
    for field in FIELDS:
        node = find(processed_schema(), field.source_path) if field.reference else None
        if node is not None and field.public and not is_public(node):
            wrong.append(field.name)
    assert wrong == []
