"""Shared fixtures: throw-away registries (docker-registry) and a token server.

Every registry fixture is function-scoped: a registry starts in well under a
second on tmpfs, and a fresh one per test keeps tests independent.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from imageferry.sandbox import INSTALL_HINT, missing_tools
from stand_ins.registry import LocalRegistry
from stand_ins.token_server import TokenServer

BASIC_USERS = {"alice": "s3cret-pass"}
TOKEN_USERS = {"bob": "t0ken-pass"}


@pytest.fixture(scope="session", autouse=True)
def _sandbox_tools() -> None:
    """Fail (never skip) when the server binaries the suite needs are missing."""
    missing = missing_tools()
    if missing:
        pytest.fail(
            f"missing test tools: {', '.join(missing)}. Run scripts/bootstrap, or "
            f"{INSTALL_HINT}, before running the tests.",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def _signals_as_at_a_terminal() -> None:
    """Processes the tests start get SIGINT and SIGHUP as a user's terminal gives them.

    A shell starting the suite in the background (``scripts/test &``, ``nohup``) makes
    it ignore SIGINT or SIGHUP, and an ignored signal stays ignored in every process it
    starts: the tests that press Ctrl-C or hang up on ``ferry`` would send nothing.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.fixture
def registry() -> Iterator[LocalRegistry]:
    """An anonymous registry (pull and push without credentials)."""
    with LocalRegistry() as r:
        yield r


@pytest.fixture
def src_registry() -> Iterator[LocalRegistry]:
    with LocalRegistry() as r:
        yield r


@pytest.fixture
def dst_registry() -> Iterator[LocalRegistry]:
    with LocalRegistry() as r:
        yield r


@pytest.fixture
def basic_registry() -> Iterator[LocalRegistry]:
    """A registry with htpasswd Basic auth; ``basic_registry.users`` has the login."""
    with LocalRegistry(auth="htpasswd", users=BASIC_USERS) as r:
        yield r


@pytest.fixture
def token_server() -> Iterator[TokenServer]:
    """A token server knowing ``TOKEN_USERS``; anonymous requests are refused."""
    with TokenServer(TOKEN_USERS) as ts:
        yield ts


@pytest.fixture
def token_registry(token_server: TokenServer) -> Iterator[LocalRegistry]:
    """A registry with Docker token auth delegated to ``token_server``."""
    with LocalRegistry(auth="token", token_server=token_server) as r:
        yield r


@pytest.fixture
def tmp_oci_dir(tmp_path: Path) -> Path:
    """A path for ``skopeo copy ... oci:DIR`` (not created: skopeo makes it)."""
    return tmp_path / "oci-layout"
