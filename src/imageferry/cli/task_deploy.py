"""``ferry task deploy`` and the deployed side of ``ferry task show``.

``deploy`` puts a task of the local store onto AWS as its own CloudFormation
stack (``deploy/aws/ecr-task.template.yaml``) and records the stack on the
task; ``show`` then reads that task's runs from the stack's state machine and
result table instead of the local store. Both need the local store: a
``ferry serve`` reached with ``--server`` keeps no deployments.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from imageferry.cli.options import Output
from imageferry.errors import ConfigError
from imageferry.store.status import TaskStatus

if TYPE_CHECKING:
    from imageferry.cli.task_backend import TaskBackend
    from imageferry.deploy_aws.deploy import Deployed, DeployRequest
    from imageferry.store import Store
    from imageferry.store.records import TaskRecord

__all__ = [
    "deploy_document",
    "deploy_line",
    "local_store",
    "refuse_if_deployed",
    "register",
    "run_deploy",
    "show_deployed",
    "stack_left_behind",
]

Session = Callable[[typer.Context], AbstractContextManager[tuple["TaskBackend", Output]]]


def local_store(backend: TaskBackend, what: str) -> Store:
    from imageferry.cli.task_backend import LocalTasks

    if not isinstance(backend, LocalTasks):
        raise ConfigError(
            f"{what} needs the local store, where deployments are recorded; run it without "
            "--server (FERRY_SERVER) on the machine that deployed the task"
        )
    return backend.runtime.store


class _Progress:
    """The stack's status on one line of stderr (rewritten on a terminal)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tty = sys.stderr.isatty()
        self.shown = False

    def __call__(self, status: str) -> None:
        line = f"{datetime.now(UTC).strftime('%H:%M:%S')} stack {self.name}: {status}"
        if self.tty:
            typer.echo("\r" + line.ljust(79), err=True, nl=False)
            self.shown = True
        else:
            typer.echo(line, err=True)

    def close(self) -> None:
        if self.shown:
            typer.echo("", err=True)
            self.shown = False


def _warn(message: str) -> None:
    typer.echo(f"ferry: warning: {message}", err=True)


def run_deploy(backend: TaskBackend, task: TaskRecord, request: DeployRequest) -> Deployed:
    """Deploy with a progress line on stderr."""
    from imageferry.deploy_aws.deploy import default_stack_name, deploy_task

    store = local_store(backend, "ferry task deploy")
    previous = store.get_deployment(task.id)
    name = request.stack_name or (previous.stack_name if previous else default_stack_name(task.id))
    progress = _Progress(name)
    try:
        return deploy_task(store, task, request, progress=progress, warn=_warn)
    except KeyboardInterrupt:
        progress.close()
        typer.echo(
            f"ferry: stopped waiting; CloudFormation goes on with stack {name} (`ferry task "
            f"deploy {task.id}` again, or the CloudFormation console, tells how it ended)",
            err=True,
        )
        raise typer.Exit(130) from None
    finally:
        progress.close()


def deploy_document(deployed: Deployed) -> dict[str, Any]:
    d, r = deployed.deployment, deployed.result
    return {
        "task_id": d.task_id,
        "stack_name": d.stack_name,
        "region": d.region,
        "stack_id": r.stack_id,
        "action": r.action,
        "status": r.status,
        "worker_count": d.worker_count,
        "image_uri": d.image_uri,
        "outputs": dict(r.outputs),
    }


def deploy_line(deployed: Deployed) -> str:
    d, r = deployed.deployment, deployed.result
    if r.action == "none":
        return f"stack {d.stack_name} in {d.region}: already up to date ({r.status})"
    if r.status.endswith("_IN_PROGRESS"):
        return f"stack {d.stack_name} in {d.region}: {r.status} (not waited for)"
    return f"stack {d.stack_name} in {d.region}: {r.status}"


def refuse_if_deployed(backend: TaskBackend, task_id: str) -> None:
    """TaskDeployed before anything is said about running here (the service refuses too)."""
    from imageferry.cli.task_backend import LocalTasks
    from imageferry.tasks.service import TaskDeployed

    if not isinstance(backend, LocalTasks):
        return
    deployment = backend.runtime.store.get_deployment(task_id)
    if deployment is not None:
        raise TaskDeployed(task_id, deployment.stack_name, deployment.region)


def stack_left_behind(backend: TaskBackend, task_id: str) -> str | None:
    """What to tell after deleting a deployed task: its stack stays in AWS."""
    from imageferry.cli.task_backend import LocalTasks

    if not isinstance(backend, LocalTasks):
        return None
    deployment = backend.runtime.store.get_deployment(task_id)
    if deployment is None:
        return None
    return (
        f"stack {deployment.stack_name} in {deployment.region} stays in AWS and keeps running "
        f"on its schedule; delete it with: aws cloudformation delete-stack --stack-name "
        f"{deployment.stack_name} --region {deployment.region}"
    )


def show_deployed(backend: TaskBackend, task: TaskRecord, fmt: Output) -> bool:
    """Print a deployed task's runs from AWS; False (nothing printed) when not deployed."""
    from imageferry.cli.task_backend import LocalTasks
    from imageferry.cli.task_view import iso, show_json, show_text

    if not isinstance(backend, LocalTasks):
        return False
    from imageferry.deploy_aws.deploy import deployed_runs

    found = deployed_runs(backend.runtime.store, task)
    if found is None:
        return False
    deployment, runs = found
    where = {
        "target": deployment.target,
        "stack_name": deployment.stack_name,
        "region": deployment.region,
        "stack_id": deployment.stack_id,
        "deployed_at": iso(deployment.deployed_at),
    }
    # The task's status is its latest run's, as for a local task; its schedule is the stack's.
    status = TaskStatus(runs[0].run.status.value) if runs else task.status
    task = replace(task, status=status, next_run_at=None)
    if fmt == "json":
        document = show_json(task, [(r.run, r.images) for r in runs])
        typer.echo(_json({**document, "deployment": where}))
        return True
    latest = runs[0].images if runs else ()
    text = show_text(task, [r.run for r in runs], latest)
    if not runs:
        text = text.replace(f"(`ferry task run {task.id}`)", "on the stack")
    typer.echo(
        f"{text}\nDeployed: stack {deployment.stack_name} in {deployment.region} "
        f"(runs above are its state machine's executions)"
    )
    return True


def _json(document: Any) -> str:
    import json

    return json.dumps(document, indent=2)


def register(app: typer.Typer, session: Session) -> None:
    """Add ``deploy`` to the ``ferry task`` group; ``session`` is task.py's error handling."""

    @app.command("deploy")
    def deploy_command(
        ctx: typer.Context,
        task_id: Annotated[str, typer.Argument(metavar="TASK_ID", help="The task id.")],
        stack_name: Annotated[
            str | None,
            typer.Option(
                "--stack-name",
                metavar="NAME",
                help="The CloudFormation stack (default: as last deployed, else "
                "imageferry-<task id>).",
            ),
        ] = None,
        region: Annotated[
            str | None,
            typer.Option(
                "--region",
                metavar="REGION",
                help="Where the stack goes: the ECS cluster's region (default: as last "
                "deployed, else AWS_DEFAULT_REGION or the profile's).",
            ),
        ] = None,
        image_uri: Annotated[
            str | None,
            typer.Option(
                "--image-uri",
                metavar="URI",
                help="The imageferry image the stack runs (default: as last deployed, else "
                "<account>.dkr.ecr.<region>.<suffix>/imageferry:latest).",
            ),
        ] = None,
        worker_count: Annotated[
            int | None,
            typer.Option(
                "--worker-count",
                min=1,
                max=100,
                metavar="N",
                help="Fargate tasks copying batches at once, 1-100 (default: as last "
                "deployed, else 4).",
            ),
        ] = None,
        no_wait: Annotated[
            bool, typer.Option("--no-wait", help="Return once CloudFormation has the request.")
        ] = False,
    ) -> None:
        """Create or update the task's CloudFormation stack in AWS, and wait for it."""
        from imageferry.deploy_aws.deploy import DeployRequest
        from imageferry.tasks.params import TaskSpec, TaskSpecError

        with session(ctx) as (backend, fmt):
            local_store(backend, "ferry task deploy")  # before asking a server for the task
            task = backend.get_task(task_id)
            request = DeployRequest(stack_name, region, worker_count, image_uri, not no_wait)
            try:
                deployed = run_deploy(backend, task, request)
            except TaskSpecError as e:
                if not any(p.parameter in TaskSpec.model_fields for p in e.problems):
                    raise  # only the command's options: given again, they fix it
                e.message += (
                    f"\na task's parameters are fixed once created: `ferry task clone {task.id} "
                    "--param NAME=VALUE ...` makes a task with the values above changed; deploy "
                    "that one"
                )
                raise
            if fmt == "json":
                typer.echo(_json(deploy_document(deployed)))
            else:
                typer.echo(deploy_line(deployed))
