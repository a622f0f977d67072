"""deploy/compose/compose.yaml, checked for structure (docker is not run here).

The server and worker commands are the distributed tests' and the scale
bench's (``fixtures.distributed``); every ``FERRY_*`` variable it sets names a
setting the code reads; each service has what the README promises of it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import yaml

from fixtures.distributed import SERVE_ARGS, WORKER_OPTIONS, worker_args
from imageferry.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def _services() -> dict[str, Any]:
    services: dict[str, Any] = _compose()["services"]
    return services


def test_the_four_services_are_there() -> None:
    assert set(_services()) == {"redis", "postgres", "server", "worker"}


def test_server_and_worker_run_the_commands_the_tests_run() -> None:
    services = _services()
    assert services["server"]["command"] == SERVE_ARGS
    worker = services["worker"]["command"]
    concurrency = int(worker[worker.index("--concurrency") + 1])
    assert worker == worker_args(concurrency)
    assert set(o for o in worker if o.startswith("--")) <= set(WORKER_OPTIONS)


def test_ferry_worker_takes_those_options_when_it_is_there() -> None:
    """Once ``ferry worker`` exists, its options include the compose file's."""
    if importlib.util.find_spec("imageferry.cli.worker") is None:
        return  # the worker command is built elsewhere; the settings test still holds
    import typer.main

    from imageferry.cli.main import app

    command = typer.main.get_command(app)
    worker = command.commands["worker"]  # type: ignore[attr-defined]
    flags = {flag for param in worker.params for flag in param.opts}
    assert set(WORKER_OPTIONS) <= flags


def test_every_ferry_variable_is_a_setting_and_the_mode_is_celery() -> None:
    fields = set(Settings.model_fields)
    for name in ("server", "worker"):
        environment: dict[str, str] = _services()[name]["environment"]
        for variable in environment:
            assert variable.startswith("FERRY_"), variable
            assert variable.removeprefix("FERRY_").lower() in fields, variable
        assert environment["FERRY_EXECUTOR"] == "celery"
        assert environment["FERRY_BROKER_URL"].startswith("redis://redis:")
        assert environment["FERRY_DATABASE_URL"].startswith("postgresql+psycopg://")
        # Both read the data directory's local secret store from the same volume.
        assert any(
            v.endswith(":" + environment["FERRY_DATA_DIR"]) for v in _services()[name]["volumes"]
        )


def test_workers_scale_and_the_broker_keeps_its_queue() -> None:
    services = _services()
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert worker["image"] == services["server"]["image"] == "imageferry"
    assert services["server"]["build"]["context"] == "../.."
    # The build context is the repository, where its Dockerfile is.
    assert (COMPOSE.parent / services["server"]["build"]["context"]).resolve() == ROOT
    redis = services["redis"]["command"]
    assert redis[redis.index("--appendonly") + 1] == "yes"
    assert services["server"]["depends_on"]["postgres"]["condition"] == "service_healthy"
