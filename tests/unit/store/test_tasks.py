from __future__ import annotations

import pytest

from imageferry.errors import ConfigError
from imageferry.store.tasks import check_parameters


def test_credential_names_are_accepted() -> None:
    params = {"srcCredential": "my-ecr", "destCredential": "", "alarmEmail": "ops@example.com"}
    assert check_parameters(params) == params


@pytest.mark.parametrize(
    "key", ["password", "srcPassword", "secret_access_key", "SecretAccessKey", "token", "apiKey"]
)
def test_parameters_that_carry_secret_values_are_refused(key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_parameters({key: "hunter2"})
    assert "hunter2" not in str(caught.value)
    assert "ferry secret put" in str(caught.value)


def test_non_string_values_are_refused() -> None:
    with pytest.raises(ConfigError, match="includeUntagged"):
        check_parameters({"includeUntagged": True})  # type: ignore[dict-item]
