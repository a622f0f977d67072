"""Every accepted input form gives the same TaskSpec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.reference_seed import SEED_COMMAND
from imageferry.tasks import forms as forms_module
from imageferry.tasks.forms import (
    ParameterFormError,
    build_spec,
    load_parameters_file,
    parse_aws_cli_parameters,
    parse_param_pairs,
)
from imageferry.tasks.params import TaskSpecError

SEED_VALUES = {
    "sourceType": "Amazon_ECR",
    "srcRegion": "us-east-1",
    "srcAccountId": "123456789012",
    "srcList": "ALL",
    "includeUntagged": "false",
    "srcImageList": "",
    "srcCredential": "dev-us-credential",
    "destAccountId": "",
    "destRegion": "us-west-2",
    "destCredential": "",
    "destPrefix": "",
    "alarmEmail": "your_email@example.com",
    "ecsVpcId": "vpc-07f56e8e21630a2a0",
    "ecsClusterName": "dth-v22-01-TaskCluster-eHzKkHatj0tN",
    "ecsSubnetA": "subnet-034c58fe0e696eb0b",
    "ecsSubnetB": "subnet-0487ae5a1d3badde7",
}


def test_seed_create_stack_command_pasted_verbatim() -> None:
    values = parse_aws_cli_parameters(SEED_COMMAND)
    assert values == SEED_VALUES
    spec = build_spec(values)
    assert spec.includeUntagged is False
    assert spec.srcCredential == "dev-us-credential"
    assert spec.ecsSubnetB == "subnet-0487ae5a1d3badde7"


def test_seed_command_with_windows_line_endings() -> None:
    assert parse_aws_cli_parameters(SEED_COMMAND.replace("\n", "\r\n")) == SEED_VALUES


def test_multiline_paste_without_continuations() -> None:
    text = """
    ParameterKey=srcRegion,ParameterValue=us-east-1
    ParameterKey=destRegion,ParameterValue=cn-north-1
    """
    assert parse_aws_cli_parameters(text) == {"srcRegion": "us-east-1", "destRegion": "cn-north-1"}


def test_all_forms_give_the_same_spec(tmp_path: Path) -> None:
    from_cli = build_spec(parse_aws_cli_parameters(SEED_COMMAND))
    from_pairs = build_spec(parse_param_pairs(f"{k}={v}" for k, v in SEED_VALUES.items()))
    cfn = tmp_path / "params.json"
    cfn.write_text(
        json.dumps([{"ParameterKey": k, "ParameterValue": v} for k, v in SEED_VALUES.items()])
    )
    yml = tmp_path / "params.yaml"
    yml.write_text("\n".join(f"{k}: '{v}'" for k, v in SEED_VALUES.items()))
    from_json = build_spec(load_parameters_file(cfn))
    from_yaml = build_spec(load_parameters_file(yml))
    assert from_cli == from_pairs == from_json == from_yaml


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (r"ParameterKey=srcImageList,ParameterValue=a\,b\,c", "a,b,c"),
        ("ParameterKey=srcImageList,ParameterValue=", ""),
        (
            "ParameterKey=srcImageList,ParameterValue=ubuntu:latest,alpine:latest",
            "ubuntu:latest,alpine:latest",
        ),
        ('ParameterKey=srcImageList,ParameterValue="ubuntu,alpine"', "ubuntu,alpine"),
        ("ParameterKey=srcImageList,ParameterValue='x:1,y:2'", "x:1,y:2"),
        ("ParameterValue=localhost:5000/x:1,ParameterKey=srcImageList", "localhost:5000/x:1"),
        ("ParameterKey=alarmEmail,ParameterValue=a=b@example.com", "a=b@example.com"),
    ],
)
def test_shorthand_values(token: str, expected: str) -> None:
    assert parse_aws_cli_parameters([token]) == {
        token.split("ParameterKey=")[1].split(",")[0]: expected
    }


def test_escaped_commas_in_a_pasted_command_line() -> None:
    # Quoted for the shell: the shorthand escape reaches our parser intact.
    quoted = r"aws cloudformation create-stack --parameters 'ParameterKey=srcImageList,"
    quoted += r"ParameterValue=a\,b'"
    assert parse_aws_cli_parameters(quoted) == {"srcImageList": "a,b"}
    # Unquoted: the shell eats the backslash; the comma still belongs to the value.
    unquoted = r"aws cloudformation create-stack --parameters "
    unquoted += r"ParameterKey=srcImageList,ParameterValue=a\,b"
    assert parse_aws_cli_parameters(unquoted) == {"srcImageList": "a,b"}


def test_options_after_parameters_are_ignored() -> None:
    text = (
        "aws cloudformation create-stack --parameters "
        "ParameterKey=srcRegion,ParameterValue=us-east-1"
        " --region us-east-1 --tags Key=a,Value=b"
    )
    assert parse_aws_cli_parameters(text) == {"srcRegion": "us-east-1"}


def test_parameters_equals_form_and_json_list() -> None:
    text = """--parameters='[{"ParameterKey":"srcRegion","ParameterValue":"eu-west-1"}]'"""
    assert parse_aws_cli_parameters(text) == {"srcRegion": "eu-west-1"}


def test_parameters_from_file_url(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"ParameterKey": "destRegion", "ParameterValue": "us-west-2"}]))
    assert parse_aws_cli_parameters(["--parameters", f"file://{path}"]) == {
        "destRegion": "us-west-2"
    }


@pytest.mark.parametrize(
    ("tokens", "fragment"),
    [
        (["ParameterKey=srcRegion"], "has no ParameterValue"),
        (["ParameterKey=srcRegion,UsePreviousValue=true"], "UsePreviousValue"),
        (["--parameters", "ParameterValue=x"], "has no ParameterKey"),
        (["--parameters", "srcRegion=us-east-1"], "expected ParameterKey=NAME"),
    ],
)
def test_bad_shorthand_is_reported(tokens: list[str], fragment: str) -> None:
    with pytest.raises(ParameterFormError, match=fragment):
        parse_aws_cli_parameters(tokens)


def test_unbalanced_quote_in_pasted_text() -> None:
    with pytest.raises(ParameterFormError, match="cannot split"):
        parse_aws_cli_parameters("--parameters 'ParameterKey=a,ParameterValue=b")


def test_param_pairs() -> None:
    assert parse_param_pairs(
        ["srcRegion=us-east-1", "alarmEmail=a=b@example.com", "destPrefix="]
    ) == {
        "srcRegion": "us-east-1",
        "alarmEmail": "a=b@example.com",
        "destPrefix": "",
    }
    with pytest.raises(ParameterFormError, match="KEY=VALUE"):
        parse_param_pairs(["srcRegion"])
    with pytest.raises(ParameterFormError, match="KEY=VALUE"):
        parse_param_pairs(["=x"])


def test_yaml_file_keeps_account_digits_and_joins_lists(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(
        "srcRegion: us-east-1\n"
        "srcAccountId: 012345670123\n"
        "destRegion: us-west-2\n"
        "includeUntagged: false\n"
        "concurrency: 4\n"
        "srcList: SELECTED\n"
        "srcImageList:\n  - ubuntu\n  - alpine:3.19\n"
    )
    values = load_parameters_file(path)
    assert values["srcAccountId"] == "012345670123"
    assert values["srcImageList"] == "ubuntu,alpine:3.19"
    spec = build_spec(values)
    assert spec.includeUntagged is False
    assert spec.concurrency == 4
    assert spec.image_entries == ("ubuntu", "alpine:3.19")


def test_json_mapping_with_native_types(tmp_path: Path) -> None:
    path = tmp_path / "task.json"
    path.write_text(
        json.dumps(
            {
                "srcRegion": "us-east-1",
                "destRegion": "us-west-2",
                "includeUntagged": False,
                "concurrency": 3,
                "destPrefix": None,
            }
        )
    )
    assert load_parameters_file(path) == {
        "srcRegion": "us-east-1",
        "destRegion": "us-west-2",
        "includeUntagged": "false",
        "concurrency": "3",
        "destPrefix": "",
    }


def test_deploy_style_parameters_file(tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"Parameters": {"srcRegion": "us-east-1"}}))
    assert load_parameters_file(path) == {"srcRegion": "us-east-1"}


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[1, 2]", "item 0"),
        ('[{"ParameterKey": "srcRegion"}]', "srcRegion has no ParameterValue"),
        ('"just a string"', "expected a mapping"),
        ("srcRegion: [unclosed", "neither JSON nor YAML"),
        ('{"srcRegion": {"nested": 1}}', "srcRegion must be"),
    ],
)
def test_bad_files_are_reported(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(ParameterFormError, match=fragment) as info:
        load_parameters_file(path)
    assert "bad.yaml" in str(info.value)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ParameterFormError, match="cannot read parameters file"):
        load_parameters_file(tmp_path / "absent.json")


def test_later_sources_override_earlier_ones() -> None:
    spec = build_spec(
        {"srcRegion": "us-east-1", "destRegion": "us-west-2", "destPrefix": "a"},
        {"destPrefix": "b"},
        overrides={"destRegion": "eu-west-1"},
    )
    assert (spec.srcRegion, spec.destRegion, spec.destPrefix) == ("us-east-1", "eu-west-1", "b")


def test_unknown_keys_from_any_form_suggest_the_closest_name() -> None:
    values = parse_aws_cli_parameters(
        [
            "ParameterKey=srcRegion,ParameterValue=us-east-1",
            "ParameterKey=destRegon,ParameterValue=x",
        ]
    )
    with pytest.raises(TaskSpecError) as info:
        build_spec(values)
    messages = {p.parameter: p.message for p in info.value.problems}
    assert "did you mean destRegion?" in messages["destRegon"]
    # the missing destination is reported in the same error
    assert "destRegion" in messages


def test_module_exports_exist() -> None:
    for name in forms_module.__all__:
        assert hasattr(forms_module, name), name
