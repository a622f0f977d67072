import pytest

import imageferry.secrets as secrets
from imageferry.errors import ConfigError
from imageferry.secrets import (
    InvalidSecret,
    SecretNotFound,
    validate_secret_name,
    validate_secret_value,
)


def test_public_names_exist() -> None:
    for name in secrets.__all__:
        assert hasattr(secrets, name), name


@pytest.mark.parametrize("name", ["ecr-prod", "team/dockerhub", "a", "x" * 512, "key+=.@_-/9"])
def test_names_secrets_manager_accepts_are_valid(name: str) -> None:
    assert validate_secret_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 513, "has space", "tab\t", "émoji", "semi;colon"])
def test_other_names_are_rejected_with_the_rule(name: str) -> None:
    with pytest.raises(InvalidSecret, match="1 to 512 characters"):
        validate_secret_name(name)


def test_invalid_secret_is_a_config_error() -> None:
    assert issubclass(InvalidSecret, ConfigError)
    assert issubclass(SecretNotFound, ConfigError)


def test_not_found_says_how_to_create_it() -> None:
    assert "ferry secret put ecr-prod" in str(SecretNotFound("ecr-prod"))


def test_value_must_be_strings_and_the_error_hides_values() -> None:
    with pytest.raises(InvalidSecret) as info:
        validate_secret_value({"username": "u", "password": 12345})  # type: ignore[dict-item]
    assert "password" in str(info.value)
    assert "12345" not in str(info.value)


def test_empty_value_is_rejected() -> None:
    with pytest.raises(InvalidSecret):
        validate_secret_value({})


def test_value_is_copied_as_a_plain_dict() -> None:
    source = {"username": "u", "password": "p"}
    checked = validate_secret_value(source)
    source["password"] = "changed"
    assert checked == {"username": "u", "password": "p"}
