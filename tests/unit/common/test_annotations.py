"""Public annotations come from one policy: the shipped defaults (the reference's public
annotations), a deployment's TOML file and its settings."""

from __future__ import annotations

import pytest
from harness.reference import is_public, raw_schema

from crashline.common.annotations import annotation_policy, load_policy
from crashline.common.fields import CRASHPAD_ANNOTATIONS
from crashline.common.settings import CommonSettings


def test_defaults_are_the_references_public_annotations_and_crashpads_names():
    expected = {name for name, node in raw_schema()["properties"].items() if is_public(node)}
    assert load_policy().public == expected | CRASHPAD_ANNOTATIONS
    assert not load_policy().is_public("URL")


def test_a_deployment_adds_and_protects(tmp_path):
    file = tmp_path / "annotations.toml"
    file.write_text('public = ["MyAppFlavor", "Notes"]\nprotected = ["Notes", "Vendor"]\n')
    policy = load_policy(file, public=["FromEnv"], protected=["BuildID"])
    assert {"MyAppFlavor", "FromEnv", "ProductName"} <= policy.public
    # A protected name wins, whoever lists it as public.
    assert not {"Notes", "Vendor", "BuildID"} & policy.public
    assert policy.protected == {"Notes", "Vendor", "BuildID"}


def test_a_deployment_can_replace_the_defaults(tmp_path):
    file = tmp_path / "annotations.toml"
    file.write_text('replace_defaults = true\npublic = ["ProductName", "Version"]\n')
    assert load_policy(file).public == {"ProductName", "Version"}


@pytest.mark.parametrize("text, message", [
    ('public = "ProductName"', "must be a list"),
    ('public = [""]', "must be a list"),
    ('pubic = ["ProductName"]', "unknown keys pubic"),
    ("replace_defaults = 1", "true or false"),
    ("public = [", "cannot read"),
])
def test_a_bad_file_is_refused_with_a_reason(tmp_path, text, message):
    file = tmp_path / "annotations.toml"
    file.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_policy(file)


def test_settings_name_the_policy(tmp_path, monkeypatch):
    file = tmp_path / "annotations.toml"
    file.write_text('public = ["TeamBuild"]\n')
    monkeypatch.setenv("CRASHLINE_ANNOTATIONS_FILE", str(file))
    monkeypatch.setenv("CRASHLINE_PUBLIC_ANNOTATIONS", "Flavor,Shard")
    monkeypatch.setenv("CRASHLINE_PROTECTED_ANNOTATIONS", '["ProductName"]')
    policy = annotation_policy(CommonSettings())
    assert {"TeamBuild", "Flavor", "Shard", "Version"} <= policy.public
    assert not policy.is_public("ProductName")
    with pytest.raises(ValueError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")
