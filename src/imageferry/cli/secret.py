"""``ferry secret put|list|delete``: manage named credentials.

Secret values never travel through argv (where ``ps`` and shell history see
them) and are never printed: a password or secret access key is read from
stdin when it is piped, or prompted for without echo; a whole JSON value comes
from a file. Exit codes: 2 for input we cannot use, 1 for failures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imageferry.cli.failures import one_line_errors
from imageferry.cli.options import OUTPUT, Output, output_format, shared_group
from imageferry.errors import ConfigError

if TYPE_CHECKING:
    from imageferry.secrets import SecretStore
    from imageferry.settings import Settings

# The settings (pydantic) and the secret stores (boto3 for AWS) load when a
# command runs, not for `ferry secret --help`.

__all__ = ["app"]

app = typer.Typer(
    help="Store registry and AWS credentials under a name tasks can refer to.",
    no_args_is_help=True,
    cls=shared_group(OUTPUT),
)


def _settings() -> Settings:
    from imageferry.settings import load_settings

    return load_settings()  # ConfigError for a variable that does not validate


def _store() -> SecretStore:
    from imageferry.secrets import open_secret_store

    return open_secret_store(_settings())


def _read_hidden(what: str) -> str:
    """``what`` from piped stdin (one line), or a prompt that does not echo."""
    if sys.stdin is not None and not sys.stdin.isatty():
        text = sys.stdin.read()
        value = text[:-1] if text.endswith("\n") else text
        value = value[:-1] if value.endswith("\r") else value
    else:
        value = str(typer.prompt(what, hide_input=True, err=True))
    if not value:
        raise ConfigError(f"the {what.lower()} is empty; pipe it on stdin or type it at the prompt")
    return value


def _value_from_file(path: Path) -> dict[str, object]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read --from-file {path}: {e.strerror}") from None
    try:
        value = json.loads(text)
    except ValueError:
        # Never quote the content: it is a secret.
        raise ConfigError(f"--from-file {path} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ConfigError(f"--from-file {path} must hold a JSON object of strings")
    return value


@app.command("put")
def put_command(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Secret name, e.g. ecr-prod or dockerhub.")
    ],
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from-file", metavar="FILE", help="A JSON object of strings ('-' for stdin)."
        ),
    ] = None,
    username: Annotated[
        str | None,
        typer.Option(
            "--username", metavar="USER", help="Registry user; the password is read from stdin."
        ),
    ] = None,
    access_key_id: Annotated[
        str | None,
        typer.Option(
            "--access-key-id",
            metavar="ID",
            help="AWS access key id (ECR); the secret access key is read from stdin.",
        ),
    ] = None,
) -> None:
    """Create or replace a secret. The value is never printed."""
    from imageferry.secrets import validate_secret_name, validate_secret_value

    with one_line_errors():
        fmt = output_format(ctx)
        validate_secret_name(name)
        given = {
            "--from-file": from_file,
            "--username": username,
            "--access-key-id": access_key_id,
        }
        chosen = [option for option, v in given.items() if v is not None]
        if len(chosen) != 1:
            raise ConfigError(
                "give exactly one of --from-file JSON, --username USER or --access-key-id ID"
                + (f" (got {', '.join(chosen)})" if chosen else "")
            )
        value: dict[str, object]
        if from_file is not None:
            value = _value_from_file(from_file)
        elif username is not None:
            value = {"username": username, "password": _read_hidden("Password")}
        else:
            assert access_key_id is not None
            value = {
                "access_key_id": access_key_id,
                "secret_access_key": _read_hidden("Secret access key"),
            }
        _store().put(name, validate_secret_value(value))
        _report(fmt, {"name": name, "stored": True}, f"stored secret {name!r}")


@app.command("list")
def list_command(ctx: typer.Context) -> None:
    """List secret names (never values)."""
    from imageferry.secrets import open_secret_store

    with one_line_errors():
        fmt = output_format(ctx)
        settings = _settings()
        names = open_secret_store(settings).list()
        if fmt == "json":
            typer.echo(json.dumps({"secrets": names}))
        elif not names:
            # On stderr, as `ferry task list` does: stdout stays a list of names for scripts.
            typer.echo(
                f"no secrets stored (FERRY_SECRET_BACKEND={settings.secret_backend}); "
                "add one with: ferry secret put NAME --username USER "
                "(or --access-key-id ID, or --from-file FILE)",
                err=True,
            )
        else:
            typer.echo("\n".join(names))


@app.command("delete")
def delete_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The secret to delete.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a secret for good."""
    from imageferry.secrets import validate_secret_name

    with one_line_errors():
        fmt = output_format(ctx)
        validate_secret_name(name)
        if not yes and not typer.confirm(f"Delete secret {name!r}?", err=True):
            typer.echo("not deleted", err=True)
            raise typer.Exit(1)
        _store().delete(name)
        _report(fmt, {"name": name, "deleted": True}, f"deleted secret {name!r}")


def _report(fmt: Output, doc: dict[str, object], text: str) -> None:
    typer.echo(json.dumps(doc) if fmt == "json" else text)
