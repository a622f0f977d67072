"""The wizard's steps cover the parameter table, and its form maps back to parameters."""

from __future__ import annotations

from imageferry.tasks.params import PARAMETER_TABLE
from imageferry.web.wizard import WIZARD_STEPS, form_parameters, initial_values


def test_every_parameter_is_asked_exactly_once() -> None:
    asked = [name for step in WIZARD_STEPS for name in step.fields + step.advanced]
    assert sorted(asked) == sorted(p.name for p in PARAMETER_TABLE)  # new ones included
    assert len(asked) == len(set(asked))


def test_steps_follow_the_reference_console() -> None:
    assert [s.key for s in WIZARD_STEPS] == [
        "engine",
        "source",
        "images",
        "destination",
        "schedule",
    ]


def test_ecr_repository_settings_are_on_the_destination_step_not_advanced() -> None:
    ecr = ("destScanOnPush", "destTagMutability", "destEncryption", "destKmsKey")
    [destination] = [s for s in WIZARD_STEPS if s.key == "destination"]
    assert set(ecr) <= set(destination.fields)
    assert not set(ecr) & {name for step in WIZARD_STEPS for name in step.advanced}


def test_initial_values_are_the_defaults_or_the_cloned_task() -> None:
    defaults = initial_values()
    assert defaults["srcList"] == "ALL"
    assert defaults["includeUntagged"] == "true"
    cloned = initial_values({"srcList": "SELECTED", "unknown": "x"})
    assert cloned["srcList"] == "SELECTED"
    assert "unknown" not in cloned


def test_form_keeps_known_non_blank_fields() -> None:
    form = {"csrf_token": "t", "srcRegion": "us-east-1", "destPrefix": " ", "bogus": "1"}
    assert form_parameters(form) == {"srcRegion": "us-east-1"}


def test_textarea_line_breaks_become_newlines() -> None:
    form = {"srcList": "SELECTED", "srcImageList": "a,\r\nb"}
    assert form_parameters(form) == {"srcList": "SELECTED", "srcImageList": "a,\nb"}
