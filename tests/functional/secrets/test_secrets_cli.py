"""``ferry secret``: what a user types and sees. Values must never be shown."""

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from imageferry.cli.main import app
from imageferry.secrets import LocalSecretStore
from stand_ins.moto import MotoServer

PASSWORD = "Corr3ct-Horse-Battery-Staple"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def ferry(data_dir: Path):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None):
        full_env = {"FERRY_DATA_DIR": str(data_dir), "FERRY_SECRET_BACKEND": "local"}
        full_env.update(env or {})
        return runner.invoke(app, ["secret", *args], input=input, env=full_env)

    return invoke


def _everything(result) -> str:
    return result.stdout + result.stderr


def test_put_with_username_reads_password_from_stdin(ferry, data_dir: Path) -> None:
    result = ferry("put", "hub", "--username", "bob", input=PASSWORD + "\n")
    assert result.exit_code == 0, _everything(result)
    assert "hub" in result.stdout
    assert PASSWORD not in _everything(result)
    assert LocalSecretStore(data_dir).get("hub") == {"username": "bob", "password": PASSWORD}


def test_put_with_access_key_id_stores_the_reference_format(ferry, data_dir: Path) -> None:
    result = ferry("put", "ecr-prod", "--access-key-id", "AKIAEXAMPLE", input=SECRET_KEY + "\n")
    assert result.exit_code == 0, _everything(result)
    assert SECRET_KEY not in _everything(result)
    assert LocalSecretStore(data_dir).get("ecr-prod") == {
        "access_key_id": "AKIAEXAMPLE",
        "secret_access_key": SECRET_KEY,
    }


def test_put_from_file(ferry, data_dir: Path, tmp_path: Path) -> None:
    value = {"username": "robot$ci", "password": PASSWORD}
    path = tmp_path / "cred.json"
    path.write_text(json.dumps(value))
    result = ferry("put", "quay", "--from-file", str(path), "--output", "json")
    assert result.exit_code == 0, _everything(result)
    assert json.loads(result.stdout) == {"name": "quay", "stored": True}
    assert LocalSecretStore(data_dir).get("quay") == value


def test_list_shows_names_only(ferry) -> None:
    ferry("put", "hub", "--username", "bob", input=PASSWORD)
    ferry("put", "ecr-prod", "--access-key-id", "AKIAEXAMPLE", input=SECRET_KEY)
    text = ferry("list")
    assert text.exit_code == 0
    assert text.stdout.split() == ["ecr-prod", "hub"]
    as_json = ferry("list", "--output", "json")
    assert json.loads(as_json.stdout) == {"secrets": ["ecr-prod", "hub"]}
    for result in (text, as_json):
        out = _everything(result)
        assert PASSWORD not in out and SECRET_KEY not in out and "bob" not in out


def test_delete(ferry) -> None:
    ferry("put", "hub", "--username", "bob", input=PASSWORD)
    result = ferry("delete", "hub", "--yes")
    assert result.exit_code == 0, _everything(result)
    assert json.loads(ferry("list", "-o", "json").stdout) == {"secrets": []}


def test_delete_asks_first(ferry) -> None:
    ferry("put", "hub", "--username", "bob", input=PASSWORD)
    refused = ferry("delete", "hub", input="n\n")
    assert refused.exit_code == 1
    assert ferry("list").stdout.split() == ["hub"]
    accepted = ferry("delete", "hub", input="y\n")
    assert accepted.exit_code == 0
    assert ferry("list").stdout.split() == []


def test_missing_secret_is_one_line_and_exit_2(ferry) -> None:
    result = ferry("delete", "nope", "--yes")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "ferry: error: secret 'nope' does not exist; create it with `ferry secret put nope`"
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("put", "hub"),
        ("put", "hub", "--username", "bob", "--access-key-id", "AKIA"),
        ("put", "bad name", "--username", "bob"),
        ("list", "--output", "yaml"),
    ],
)
def test_bad_input_exits_2_with_one_line(ferry, args: tuple[str, ...]) -> None:
    result = ferry(*args, input=PASSWORD)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("ferry: error: ")
    assert PASSWORD not in _everything(result)


def test_bad_json_file_is_not_quoted(ferry, tmp_path: Path) -> None:
    path = tmp_path / "cred.json"
    path.write_text(f'{{"password": "{PASSWORD}"')  # truncated JSON
    result = ferry("put", "hub", "--from-file", str(path))
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr
    assert PASSWORD not in _everything(result)


def test_non_string_values_are_rejected(ferry, tmp_path: Path) -> None:
    path = tmp_path / "cred.json"
    path.write_text(json.dumps({"username": "bob", "password": 123456789}))
    result = ferry("put", "hub", "--from-file", str(path))
    assert result.exit_code == 2
    assert "password" in result.stderr and "123456789" not in _everything(result)


def test_empty_password_is_rejected(ferry) -> None:
    result = ferry("put", "hub", "--username", "bob", input="")
    assert result.exit_code == 2
    assert "empty" in result.stderr


def test_store_failure_exits_1(ferry, data_dir: Path) -> None:
    ferry("put", "hub", "--username", "bob", input=PASSWORD)
    (data_dir / "secrets" / "fernet.key").unlink()
    result = ferry("list")
    assert result.exit_code == 1
    assert result.stderr.startswith("ferry: error: ")


def test_aws_backend_by_configuration(ferry, aws_env: MotoServer, data_dir: Path) -> None:
    result = ferry(
        "put", "hub", "--username", "bob", input=PASSWORD, env={"FERRY_SECRET_BACKEND": "aws"}
    )
    assert result.exit_code == 0, _everything(result)
    raw = boto3.client("secretsmanager").get_secret_value(SecretId="hub")["SecretString"]
    assert json.loads(raw) == {"username": "bob", "password": PASSWORD}
    listed = ferry("list", "-o", "json", env={"FERRY_SECRET_BACKEND": "aws"})
    assert json.loads(listed.stdout) == {"secrets": ["hub"]}
    assert not (data_dir / "secrets").exists()


def test_real_process_with_piped_password(data_dir: Path) -> None:
    ferry_bin = Path(sys.executable).with_name("ferry")
    env = {**os.environ, "FERRY_DATA_DIR": str(data_dir), "FERRY_SECRET_BACKEND": "local"}
    put = subprocess.run(
        [str(ferry_bin), "secret", "put", "hub", "--username", "bob"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert put.returncode == 0, put.stderr
    assert PASSWORD not in put.stdout + put.stderr
    assert LocalSecretStore(data_dir).get("hub")["password"] == PASSWORD
