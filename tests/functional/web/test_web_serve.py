"""``ferry serve --create-token``: an API token for automation, printed once."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from imageferry.cli.serve import register
from imageferry.settings import Settings
from imageferry.store import open_store


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """ferry (test harness with only the serve command)."""

    register(app)
    return app


def test_create_token_prints_a_working_token_once(tmp_path: Path) -> None:
    env = {"FERRY_DATA_DIR": str(tmp_path / "d"), "FERRY_ADMIN_PASSWORD": "a-long-password"}
    runner = CliRunner()
    first = runner.invoke(_cli(), ["serve", "--create-token", "ci"], env=env)
    assert first.exit_code == 0, first.output
    token = first.stdout.strip().splitlines()[-1]
    assert token.startswith("ferry_")
    second = runner.invoke(_cli(), ["serve", "--create-token", "cron"], env=env)
    assert second.stdout.strip().splitlines()[-1] != token
    with open_store(Settings(data_dir=tmp_path / "d")) as store:
        user = store.verify_api_token(token)
        assert user is not None and user.username == "admin"
        assert [t.name for t in store.list_api_tokens("admin")] == ["ci", "cron"]
        assert store.verify_password("admin", "a-long-password") is not None
