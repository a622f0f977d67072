"""Labels for every parameter, and which fields apply to the choices made."""

from __future__ import annotations

import json

from imageferry.tasks.params import PARAMETER_TABLE
from imageferry.web.fields import (
    LABELS,
    OPTION_RULES,
    RULES,
    applicable,
    applies,
    dest_kind,
    label,
    option_applies,
    rule_json,
    shown_parameters,
)


def test_every_parameter_has_words_and_the_reference_labels_are_its_own() -> None:
    assert set(LABELS) == {p.name for p in PARAMETER_TABLE}
    assert label("srcRegion") == "Source Region"
    assert label("ecsSubnetA") == "First Subnet ID"
    assert label("srcList") == "Source Image List Type"
    assert label("someNewThing") == "Some new thing"


def test_ecr_source_fields_apply_only_to_an_ecr_source() -> None:
    for name in ("srcRegion", "srcAccountId"):
        assert applies(name, {"sourceType": "Amazon_ECR"})
        assert applies(name, {})  # a blank sourceType takes its default, Amazon_ECR
        assert not applies(name, {"sourceType": "Public"})
    assert applies("srcRegistry", {"sourceType": "Public"})
    assert not applies("srcRegistry", {"sourceType": "Amazon_ECR"})
    assert applies("srcCredential", {"sourceType": "Public"})


def test_the_image_list_applies_only_to_selected_images() -> None:
    assert applies("srcImageList", {"srcList": "SELECTED"})
    assert not applies("srcImageList", {"srcList": "ALL"})
    assert not applies("srcImageList", {})  # srcList defaults to ALL


def test_listing_everything_needs_an_ecr_source_or_a_source_registry() -> None:
    assert option_applies("srcList", "ALL", {"sourceType": "Amazon_ECR"})
    assert not option_applies("srcList", "ALL", {"sourceType": "Public"})
    assert option_applies("srcList", "ALL", {"sourceType": "Public", "srcRegistry": "r:5000"})
    assert option_applies("srcList", "SELECTED", {"sourceType": "Public"})


def test_destination_fields_follow_the_destination_kind() -> None:
    ecr = {"destKind": "ecr", "destEncryption": "KMS"}
    registry = {"destKind": "registry"}
    for name in ("destRegion", "destAccountId", "destTagMutability", "destKmsKey"):
        assert applies(name, ecr) and not applies(name, registry), name
    assert applies("destRegistry", registry) and not applies("destRegistry", ecr)
    assert not applies("destKmsKey", {"destKind": "ecr", "destEncryption": "AES256"})
    assert dest_kind({"destRegistry": "r:5000"}) == "registry"
    assert dest_kind({"destRegion": "us-east-1"}) == "ecr"
    assert dest_kind({"destKind": "registry"}) == "registry"


def test_applicable_drops_what_does_not_apply_and_what_hangs_on_it() -> None:
    form = {
        "sourceType": "Public",
        "srcRegion": "typed before the source changed",
        "srcList": "ALL",
        "srcImageList": "app:1.0",
        "destKind": "registry",
        "destRegistry": "r:5001",
        "destRegion": "us-west-2",
        "destEncryption": "KMS",
        "destKmsKey": "alias/k",
        "scheduleType": "ONE_TIME",
        "scheduleExpression": "rate(1 day)",
    }
    kept = applicable(form)
    for gone in ("srcRegion", "srcImageList", "destRegion", "destEncryption", "destKmsKey",
                 "scheduleExpression"):  # fmt: skip
        assert gone not in kept, gone
    assert kept["destRegistry"] == "r:5001"
    assert kept["srcList"] == "ALL"


def test_the_task_page_lists_what_applies_and_every_value_that_differs() -> None:
    registry_task = {
        "sourceType": "Public",
        "srcRegistry": "r:5000",
        "srcList": "SELECTED",
        "srcImageList": "a",
        "destRegistry": "r:5001",
        "destScanOnPush": "false",
        "destTagMutability": "MUTABLE",
        "scheduleType": "ONE_TIME",
    }
    shown = shown_parameters(registry_task)
    assert "destScanOnPush" not in shown and "destTagMutability" not in shown
    assert {"sourceType", "srcRegistry", "srcImageList", "destRegistry"} <= set(shown)
    # An ECR source with a registry (made with the CLI) still shows its registry.
    odd = {"sourceType": "Amazon_ECR", "srcRegistry": "r:5000", "destRegion": "us-east-1"}
    assert "srcRegistry" in shown_parameters(odd)


def test_rules_reach_the_page_as_json() -> None:
    assert rule_json(None) == ""
    assert json.loads(rule_json(RULES["srcRegion"])) == [{"sourceType": ["Amazon_ECR"]}]
    assert json.loads(rule_json(OPTION_RULES[("srcList", "ALL")])) == [
        {"sourceType": ["Amazon_ECR"]},
        {"srcRegistry": ["*"]},
    ]


def test_the_task_page_lists_in_the_order_given() -> None:
    task = {"sourceType": "Public", "srcRegistry": "r:5000", "destRegistry": "r:5001"}
    assert shown_parameters(task, ["destRegistry", "srcRegistry", "sourceType"]) == [
        "destRegistry",
        "srcRegistry",
        "sourceType",
    ]
