"""Redaction by allowlist: what a caller without ``view_pii`` may see of a crash.

Annotations are public when the deployment's annotation policy says so
(:mod:`crashline.common.annotations`: the reference's public annotations by default).

Anything not declared public is dropped, at any depth, so a new annotation, a new processed
key or a new key of the stack walker's output stays private until someone decides it is
public. The processed crash is walked along the field registry's tree
(:func:`crashline.common.fields.processed_tree`), into nested objects and every item of
lists: ``json_dump.threads[].frames[].registers`` is dropped from each frame.
"""

from __future__ import annotations

from collections.abc import Mapping

from crashline.common.annotations import AnnotationPolicy, annotation_policy
from crashline.common.fields import Node, processed_tree
from crashline.webapp.settings import get_webapp_settings

_DROP = object()


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _keep(node: Node, value: object) -> object:
    """What of ``value`` the node lets through, or ``_DROP``."""
    if isinstance(value, list) and node.items is not None:
        kept = (_keep(node.items, item) for item in value)
        return [item for item in kept if item is not _DROP]
    if isinstance(value, Mapping) and node.children:
        return _object(node, value)
    if not node.public:
        return _DROP  # a container whose value is not the expected shape
    # A declared leaf holds a JSON scalar or a flat list of them; anything nested inside
    # it would be undeclared, hence private.
    if _scalar(value):
        return value
    if isinstance(value, list):
        return [item for item in value if _scalar(item)]
    return _DROP


def _object(node: Node, doc: Mapping) -> dict:
    kept: dict = {}
    for key, value in doc.items():
        child = node.child(key)
        if child is None or not child.visible:
            continue
        result = _keep(child, value)
        if result is not _DROP:
            kept[key] = result
    return kept


def redact_processed(processed: Mapping) -> dict:
    """A new dict of the public part of ``processed`` (which is left alone)."""
    return _object(processed_tree(), processed)


def redact_raw(raw: Mapping, policy: AnnotationPolicy | None = None) -> dict:
    """The public annotations of ``raw``: by ``policy``, else the one the settings name."""
    policy = policy or annotation_policy(get_webapp_settings())
    return {k: v for k, v in raw.items() if policy.is_public(k)}
