"""``ferry task create``: every input form, and invalid input reported all at once."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from functional.cli.conftest import FERRY, output, param_args, task_parameters

SRC = "127.0.0.1:5000"
DST = "127.0.0.1:5001"


def _stored(ferry_json, task_id: str) -> dict[str, str]:
    return ferry_json("task", "show", task_id)["parameters"]


def test_create_with_param_prints_the_id_and_stores_every_parameter(ferry, ferry_json) -> None:
    parameters = task_parameters(SRC, DST, "app:1.0, tools")
    result = ferry("task", "create", *param_args(parameters), "--name", "nightly")
    assert result.exit_code == 0, output(result)
    task_id = result.stdout.strip()
    assert task_id and "\n" not in task_id

    shown = ferry_json("task", "show", task_id)
    assert shown["id"] == task_id
    assert shown["name"] == "nightly"
    assert shown["status"] == "CREATED"
    assert shown["runs"] == []
    for key, value in parameters.items():
        assert shown["parameters"][key] == value


def test_create_json_output_is_the_id_document(ferry_json) -> None:
    doc = ferry_json("task", "create", *param_args(task_parameters(SRC, DST, "app")))
    assert doc == {"id": doc["id"], "warnings": []}
    assert ferry_json("task", "show", doc["id"])["id"] == doc["id"]


def test_create_with_aws_cli_parameters_as_the_rest_of_the_line(ferry, ferry_json) -> None:
    result = ferry(
        "task",
        "create",
        "--parameters",
        "ParameterKey=sourceType,ParameterValue=Public",
        f"ParameterKey=srcRegistry,ParameterValue={SRC}",
        "ParameterKey=srcList,ParameterValue=SELECTED",
        # The shell has already turned `\,` into `,`: the value keeps both images.
        "ParameterKey=srcImageList,ParameterValue=app:1.0,tools:2",
        f"ParameterKey=destRegistry,ParameterValue={DST}",
        "ParameterKey=scheduleType,ParameterValue=ONE_TIME",
    )
    assert result.exit_code == 0, output(result)
    stored = _stored(ferry_json, result.stdout.strip())
    assert stored["srcImageList"] == "app:1.0,tools:2"
    assert stored["srcRegistry"] == SRC
    assert stored["destRegistry"] == DST


PASTED = r"""aws cloudformation create-stack --stack-name DTHECRStack \
--template-url https://solutions-reference.s3.amazonaws.com/data-transfer-hub/latest/DTH.template \
--capabilities CAPABILITY_NAMED_IAM \
--parameters \
ParameterKey=sourceType,ParameterValue=Public \
ParameterKey=srcRegistry,ParameterValue=127.0.0.1:5000 \
ParameterKey=srcList,ParameterValue=SELECTED \
ParameterKey=srcImageList,ParameterValue=ubuntu:18.04\,alpine:3.20\,nginx \
ParameterKey=destRegistry,ParameterValue=127.0.0.1:5001 \
ParameterKey=destPrefix,ParameterValue=mirror \
ParameterKey=alarmEmail,ParameterValue=ops@example.com \
ParameterKey=scheduleType,ParameterValue=ONE_TIME"""


def _check_pasted(stored: dict[str, str]) -> None:
    assert stored["srcImageList"] == "ubuntu:18.04,alpine:3.20,nginx"
    assert stored["destPrefix"] == "mirror"
    assert stored["alarmEmail"] == "ops@example.com"
    assert stored["srcRegistry"] == SRC


def test_create_from_a_pasted_create_stack_command_through_a_shell(
    ferry_env, ferry_json, tmp_path: Path
) -> None:
    """The user types `ferry task create ` and pastes the reference's command after it."""
    result = subprocess.run(
        ["bash", "-c", f"{FERRY} task create {PASTED}"],
        env={**os.environ, **ferry_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    _check_pasted(_stored(ferry_json, result.stdout.strip()))


def test_create_from_a_pasted_command_on_stdin(ferry, ferry_json) -> None:
    result = ferry("task", "create", "--parameters", "-", input=PASTED + "\n")
    assert result.exit_code == 0, output(result)
    _check_pasted(_stored(ferry_json, result.stdout.strip()))


def test_create_from_a_cloudformation_parameters_file(ferry, ferry_json, tmp_path: Path) -> None:
    parameters = task_parameters(SRC, DST, "app:1.0")
    path = tmp_path / "params.json"
    path.write_text(
        json.dumps([{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    )
    result = ferry("task", "create", "--file", str(path))
    assert result.exit_code == 0, output(result)
    assert _stored(ferry_json, result.stdout.strip())["srcImageList"] == "app:1.0"


def test_create_from_yaml_with_param_overriding_the_file(ferry, ferry_json, tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(
        "sourceType: Public\n"
        f"srcRegistry: '{SRC}'\n"
        "srcList: SELECTED\n"
        "srcImageList:\n  - app:1.0\n  - tools\n"
        f"destRegistry: '{DST}'\n"
        "destPrefix: from-file\n"
        "scheduleType: ONE_TIME\n"
    )
    result = ferry("task", "create", "-f", str(path), "--param", "destPrefix=from-flag")
    assert result.exit_code == 0, output(result)
    stored = _stored(ferry_json, result.stdout.strip())
    assert stored["srcImageList"] == "app:1.0,tools"
    assert stored["destPrefix"] == "from-flag"


def test_invalid_parameters_list_every_problem_and_exit_2(ferry, ferry_json) -> None:
    result = ferry(
        "task",
        "create",
        "--param",
        "sourceType=Public",
        "--param",
        "srcList=ALL",
        "--param",
        "destRegion=mars-1",
        "--param",
        "alarmEmail=not-an-address",
        "--param",
        "destPrefx=typo",
    )
    assert result.exit_code == 2, output(result)
    assert result.stdout == ""
    for name in ("srcList", "destRegion", "alarmEmail", "destPrefx"):
        assert f"- {name}:" in result.stderr, result.stderr
    assert "destPrefix" in result.stderr  # the closest known name for the typo
    assert result.stderr.startswith("ferry: error: invalid task parameters (4 problems)")
    assert ferry_json("task", "list")["total"] == 0


def test_invalid_parameters_in_json_mode_give_a_problems_document(ferry) -> None:
    result = ferry("task", "create", "-p", "srcList=SELECTED", "-p", "destRegion=x", "-o", "json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert {p["parameter"] for p in doc["problems"]} >= {"destRegion"}
    assert all(p["message"] for p in doc["problems"])


def test_words_that_are_no_parameters_are_refused(ferry) -> None:
    result = ferry("task", "create", "srcRegion=us-east-1")
    assert result.exit_code == 2
    assert "unexpected argument" in result.stderr
    assert "--param KEY=VALUE" in result.stderr


def test_malformed_param_and_no_parameters_exit_2(ferry) -> None:
    bad = ferry("task", "create", "--param", "srcRegion")
    assert bad.exit_code == 2
    assert "is not KEY=VALUE" in bad.stderr
    empty = ferry("task", "create")
    assert empty.exit_code == 2
    assert "no task parameters" in empty.stderr
