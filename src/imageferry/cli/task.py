"""``ferry task``: create, list, show, run, start, stop, clone, delete, prune tasks.

Every command works on the local store (the embedded runtime under
``FERRY_DATA_DIR``) or, with ``--server URL`` (``FERRY_SERVER``) and an API
token (``--token``/``FERRY_TOKEN``), on a running ``ferry serve`` through its
JSON API. Both sides offer the same methods
(:class:`~imageferry.cli.task_backend.TaskBackend`), so each command has one
code path. ``--server``, ``--token`` and ``-o`` may stand before ``task``,
after it or after the command (:mod:`imageferry.cli.options`).

``start`` versus ``run``: a run needs a process that executes it until it
ends. With ``--server``, ``start`` hands the run to the server's background
executor and returns at once. Without a server there is no background
process to hand it to (the CLI exits when the command does), so ``start``
says so and executes the run in the foreground, exactly like ``run``.

Exit codes: 0 success; 2 input we cannot use (invalid parameters, every
problem listed); 1 failures, including a run that ended ERROR or was stopped
from elsewhere; 130 when Ctrl-C stopped the run (it ends STOPPED, cleanly).
``--output json`` (``-o json``) prints one JSON document on stdout; messages
and progress go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from imageferry.cli.options import (
    OUTPUT,
    SERVER,
    TOKEN,
    Output,
    chosen,
    output_format,
    shared_group,
)
from imageferry.cli.task_deploy import register as add_deploy_command
from imageferry.errors import ConfigError, FerryError
from imageferry.store.status import RunStatus, TaskStatus, Trigger

if TYPE_CHECKING:
    from imageferry.cli.task_backend import TaskBackend
    from imageferry.store.records import ImageResultRecord, LogRecord, Page, RunRecord, TaskRecord

# The backend, the store, the task parameters (pydantic) and the views load
# when a command runs, not for `ferry task --help`.

__all__ = ["app", "collect_parameters"]

app = typer.Typer(
    help="Transfer tasks: the reference's parameters, runs with per-image results, schedules.",
    no_args_is_help=True,
    cls=shared_group(SERVER, TOKEN, OUTPUT),
)

T = TypeVar("T")

_TaskId = Annotated[
    str, typer.Argument(metavar="TASK_ID", help="The task id (`ferry task list` shows them).")
]
_ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        metavar="KEY=VALUE",
        help="A task parameter KEY=VALUE, e.g. srcRegion=us-east-1 (repeatable).",
    ),
]
_AWS_KEYS = ("ParameterKey=", "ParameterValue=")


def _echo_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, indent=2))


@contextmanager
def _errors(ctx: typer.Context) -> Iterator[None]:
    """One ``ferry: error:`` message on stderr (every problem of invalid parameters)
    and the documented exit code; with ``-o json`` also a JSON error on stdout."""
    from imageferry.tasks.params import TaskSpecError

    as_json = chosen(ctx, OUTPUT) == "json"
    try:
        yield
    except TaskSpecError as e:
        typer.echo(f"ferry: error: {e}", err=True)
        if as_json:
            problems = [{"parameter": p.parameter, "message": p.message} for p in e.problems]
            _echo_json({"error": str(e), "problems": problems})
        raise typer.Exit(2) from None
    except FerryError as e:
        typer.echo(f"ferry: error: {e}", err=True)
        if as_json:
            _echo_json({"error": str(e)})
        raise typer.Exit(2 if isinstance(e, ConfigError) else 1) from None


@contextmanager
def _session(ctx: typer.Context) -> Iterator[tuple[TaskBackend, Output]]:
    """The backend the options chose (--server or the local store) and the output format."""
    with _errors(ctx):
        from imageferry.cli.task_backend import open_backend

        fmt = output_format(ctx)
        with open_backend(chosen(ctx, SERVER), chosen(ctx, TOKEN)) as backend:
            yield backend, fmt


def _all(fetch: Callable[[int], Page[T]]) -> list[T]:
    """Every item of a paged listing."""
    items: list[T] = []
    while True:
        page = fetch(len(items))
        items.extend(page.items)
        if not page.items or len(items) >= page.total:
            return items


def _images(backend: TaskBackend, run_id: str) -> list[ImageResultRecord]:
    return _all(lambda offset: backend.image_results(run_id, None, None, offset, 500))


# -- parameters ---------------------------------------------------------------


def collect_parameters(
    params: list[str],
    aws_parameters: str | None,
    extra: list[str],
    file: Path | None,
    stdin_text: Callable[[], str] = lambda: sys.stdin.read(),
) -> dict[str, str]:
    """Merge the input forms, later winning: ``--file``, the AWS CLI form, ``--param``.

    ``extra`` holds the words the command line did not otherwise use: the rest
    of a pasted ``aws cloudformation create-stack ... --parameters K1 K2 ...``
    (where only ``--parameters``'s first word is that option's value), so every
    ``ParameterKey=`` word there is read and the command's other options are
    ignored. ``--parameters -`` reads the pasted command (backslash-newline
    continuations, ``\\,`` escapes and all) from stdin instead.
    """
    from imageferry.tasks.forms import (
        load_parameters_file,
        parse_aws_cli_parameters,
        parse_param_pairs,
    )

    merged: dict[str, str] = {}
    if file is not None:
        merged.update(load_parameters_file(file))
    aws_words = [word for word in extra if word.startswith(_AWS_KEYS)]
    if extra and aws_parameters is None and not aws_words:
        raise ConfigError(
            f"unexpected argument(s) {' '.join(extra)!r}: give parameters as --param KEY=VALUE, "
            "--parameters ParameterKey=KEY,ParameterValue=VALUE ... or --file PATH"
        )
    if aws_parameters == "-":
        merged.update(parse_aws_cli_parameters(stdin_text()))
    elif aws_parameters is not None:
        merged.update(parse_aws_cli_parameters(["--parameters", aws_parameters]))
    if aws_words:
        merged.update(parse_aws_cli_parameters(aws_words))
    merged.update(parse_param_pairs(params))
    if not merged:
        raise ConfigError(
            "no task parameters given: use --param KEY=VALUE, --parameters "
            "ParameterKey=KEY,ParameterValue=VALUE ... or --file PATH"
        )
    return merged


@app.command(
    "create",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def create_command(
    ctx: typer.Context,
    param: _ParamOption = None,
    parameters: Annotated[
        str | None,
        typer.Option(
            "--parameters",
            metavar="WORDS",
            help="The AWS CLI form: ParameterKey=K,ParameterValue=V words (the rest of the "
            "line may hold more; a whole pasted `aws cloudformation create-stack` command "
            "works), a JSON list, file://PATH, or '-' to read the pasted command from stdin.",
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            metavar="FILE",
            help="CloudFormation parameters JSON, or a YAML/JSON mapping.",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", metavar="NAME", help="A name for the task.")
    ] = None,
    deploy: Annotated[
        str | None,
        typer.Option(
            "--deploy",
            metavar="aws",
            help="Also deploy the new task to AWS as its own CloudFormation stack, as "
            "`ferry task deploy ID` does with its defaults.",
        ),
    ] = None,
) -> None:
    """Create a task from the reference's parameters; prints its id."""
    with _session(ctx) as (backend, fmt):
        merged = collect_parameters(param or [], parameters, list(ctx.args), file)
        if deploy is None:
            _created(backend, backend.create_task(merged, name), fmt)
            return
        from imageferry.cli.task_deploy import deploy_document, deploy_line, local_store, run_deploy
        from imageferry.deploy_aws.deploy import DeployRequest
        from imageferry.deploy_aws.parameters import stack_parameters

        if deploy != "aws":
            raise ConfigError(f"--deploy {deploy!r}: the one deployment target is aws")
        local_store(backend, "ferry task create --deploy")
        stack_parameters(merged)  # what cannot be deployed is refused before the task exists
        task = backend.create_task(merged, name)
        try:
            deployed = run_deploy(backend, task, DeployRequest())
        except FerryError as e:  # said so: running the command again would make a second task
            e.message += (
                f"; task {task.id} was created; deploy it with `ferry task deploy {task.id}` "
                "once that is fixed"
            )
            raise
        # The stack's own topic tells alarmEmail: no local alarm backend to warn of.
        _created(backend, task, fmt, {"deployment": deploy_document(deployed)}, warn=False)
        if fmt == "text":
            typer.echo(deploy_line(deployed), err=True)


def _created(
    backend: TaskBackend,
    task: TaskRecord,
    fmt: Output,
    more: dict[str, Any] | None = None,
    *,
    warn: bool = True,
) -> None:
    """Print a new task's id, and its warnings on stderr (also in the JSON document)."""
    warnings = backend.warnings(task.parameters) if warn else []
    for warning in warnings:
        typer.echo(f"ferry: warning: {warning}", err=True)
    if fmt == "json":
        _echo_json({"id": task.id, "warnings": warnings, **(more or {})})
    else:
        typer.echo(task.id)


@app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(
            metavar="STATUS",
            help="Only tasks in this status: " + ", ".join(s.value for s in TaskStatus),
        ),
    ] = None,
    offset: Annotated[int, typer.Option(min=0, metavar="N", help="Skip this many tasks.")] = 0,
    limit: Annotated[
        int, typer.Option(min=1, max=500, metavar="N", help="Show at most this many.")
    ] = 50,
) -> None:
    """List tasks, newest first, with the progress of their latest run."""
    from imageferry.cli.task_view import task_row_json, task_table

    with _session(ctx) as (backend, fmt):
        wanted = _task_status(status) if status else None
        page = backend.list_tasks(wanted, offset, limit)
        latest = backend.latest_runs(task.id for task in page.items)
        rows = [(task, latest.get(task.id)) for task in page.items]
        if fmt == "json":
            items = [task_row_json(task, latest) for task, latest in rows]
            _echo_json({"items": items, "total": page.total, "offset": offset, "limit": limit})
            return
        if not rows:
            typer.echo(_no_tasks(chosen(ctx, SERVER), wanted, offset), err=True)
            return
        typer.echo(task_table(rows))
        if offset + len(rows) < page.total:
            typer.echo(
                f"showing {offset + 1}-{offset + len(rows)} of {page.total}; "
                f"--offset {offset + len(rows)} for more",
                err=True,
            )


def _no_tasks(server: str | None, status: TaskStatus | None, offset: int) -> str:
    where = f" on {server}" if server else ""
    if status is not None:
        return f"no tasks in status {status}{where}"
    if offset:
        return f"no tasks after the first {offset}{where}"
    return (
        f"no tasks yet{where}; create one with: ferry task create --param KEY=VALUE ... "
        "(`ferry task create --help` shows the ways to give parameters)"
    )


def _task_status(value: str) -> TaskStatus:
    try:
        return TaskStatus(value.upper())
    except ValueError:
        allowed = ", ".join(s.value for s in TaskStatus)
        raise ConfigError(
            f"--status {value!r} is not a task status; use one of {allowed}"
        ) from None


@app.command("show")
def show_command(ctx: typer.Context, task_id: _TaskId) -> None:
    """A task's parameters, runs and per-image results (a deployed task's from AWS)."""
    from imageferry.cli.task_deploy import show_deployed
    from imageferry.cli.task_view import show_json, show_text

    with _session(ctx) as (backend, fmt):
        task = backend.get_task(task_id)
        if show_deployed(backend, task, fmt):
            return
        runs = _all(lambda offset: backend.runs(task_id, offset, 500))
        if fmt == "json":
            _echo_json(show_json(task, [(run, _images(backend, run.id)) for run in runs]))
        else:
            latest_images = _images(backend, runs[0].id) if runs else []
            typer.echo(show_text(task, runs, latest_images))


@app.command("run")
def run_command(
    ctx: typer.Context,
    task_id: _TaskId,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would be copied (= plan).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Run a task now, in the foreground, with progress; exits 1 if the run ends in ERROR."""
    with _session(ctx) as (backend, fmt):
        if dry_run:
            _plan(backend, task_id, fmt)
        else:
            _execute(backend, task_id, fmt, quiet)


@app.command("start")
def start_command(
    ctx: typer.Context,
    task_id: _TaskId,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Start a run: in the background on --server, else in the foreground like `run`."""
    with _session(ctx) as (backend, fmt):
        server = chosen(ctx, SERVER)
        if server is None:
            from imageferry.cli.task_deploy import refuse_if_deployed

            backend.get_task(task_id)  # an unknown id is the whole message, not the notice
            refuse_if_deployed(backend, task_id)  # so is a deployed task
            typer.echo(
                f"ferry: no --server given, so task {task_id} runs here in the foreground "
                "(Ctrl-C stops it). To start runs in the background, run `ferry serve` and "
                "pass --server URL or set FERRY_SERVER.",
                err=True,
            )
            _execute(backend, task_id, fmt, quiet)
            return
        run = backend.start(task_id, Trigger.MANUAL)
        if fmt == "json":
            _echo_json({"task_id": task_id, "run_id": run.id, "status": run.status.value})
        else:
            typer.echo(run.id)
            typer.echo(
                f"started run {run.number} of task {task_id} on {server}; follow it with "
                f"`ferry task logs {task_id} --follow`",
                err=True,
            )


def _execute(backend: TaskBackend, task_id: str, fmt: Output, quiet: bool) -> None:
    """Start a run (trigger ``cli``), follow it to its end, report, exit accordingly."""
    from imageferry.cli.task_follow import follow_run, interrupt_on_sigint
    from imageferry.cli.task_view import run_result_json, run_summary

    sink: Callable[[LogRecord], None] | None = None
    if not quiet and fmt == "text":
        sink = _progress_line
    # The text summary tells how the run ended, with its reason: said once.
    # Progress leaves out the log's closing line, the JSON document has it all,
    # and only for JSON (or -q) is the reason also a line on stderr.
    with interrupt_on_sigint() as interrupt:
        run = backend.start(task_id, Trigger.CLI)
        if sink is not None:
            typer.echo(f"run {run.number} ({run.id}) of task {task_id} started", err=True)
        run, interrupted = follow_run(backend, run, sink=sink, interrupt=interrupt)
    # Text with progress lines has already shown each image: no need to read them back.
    listed = fmt == "json" or (quiet and run.images_failed)
    images = _images(backend, run.id) if listed else []
    if fmt == "json":
        _echo_json(run_result_json(run, images))
    else:
        typer.echo(run_summary(run))
    for image in images:
        if image.status.value == "failed" and (fmt == "json" or quiet):
            typer.echo(f"ferry: failed: {image.source}: {image.error}", err=True)
    if run.status is RunStatus.ERROR:
        if fmt == "json":
            typer.echo(f"ferry: error: {run_summary(run)}", err=True)
        raise typer.Exit(1)
    if run.status is RunStatus.STOPPED:
        typer.echo(
            f"ferry: run {run.number} of task {task_id} stopped: in-flight copies abandoned, "
            "no tag moved",
            err=True,
        )
        raise typer.Exit(130 if interrupted else 1)


def _progress_line(line: LogRecord) -> None:
    from imageferry.tasks.outcome import CLOSING

    if line.message.startswith(CLOSING):
        return  # the summary that follows says it
    typer.echo(f"{line.ts.strftime('%H:%M:%S')} {line.message}", err=True)


def _plan(backend: TaskBackend, task_id: str, fmt: Output) -> None:
    import asyncio

    from imageferry.cli.task_view import plan_json, plan_text

    backend.get_task(task_id)
    planned, notes = asyncio.run(backend.plan(task_id))
    if fmt == "json":
        _echo_json(plan_json(task_id, planned, notes))
    else:
        for note in notes:
            typer.echo(f"note: {note}", err=True)
        typer.echo(plan_text(planned))
    if any(p.status == "failed" for p in planned):
        raise typer.Exit(1)


@app.command("plan")
def plan_command(ctx: typer.Context, task_id: _TaskId) -> None:
    """What a run would copy now, and how many bytes it would send (reads only)."""
    with _session(ctx) as (backend, fmt):
        _plan(backend, task_id, fmt)


@app.command("stop")
def stop_command(
    ctx: typer.Context,
    task_id: _TaskId,
    wait: Annotated[
        float,
        typer.Option(
            min=0,
            metavar="SECONDS",
            help="Seconds to wait for the executing process to end the run; after that, "
            "a run nobody executes is ended here.",
        ),
    ] = 15.0,
) -> None:
    """Stop the task's active run: in-flight copies are abandoned, no tag moves."""
    from imageferry.cli.task_follow import wait_stopped

    with _session(ctx) as (backend, fmt):
        run = wait_stopped(backend, backend.stop(task_id), grace=wait)
        if fmt == "json":
            _echo_json({"task_id": task_id, "run_id": run.id, "status": run.status.value})
        else:
            typer.echo(f"run {run.number} ({run.id}) of task {task_id}: {run.status.value}")


@app.command("clone")
def clone_command(
    ctx: typer.Context,
    task_id: _TaskId,
    param: _ParamOption = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", metavar="NAME", help="The new task's name (default: '<name> (clone)')."
        ),
    ] = None,
) -> None:
    """Copy a task's parameters into a new task, changed by --param overrides; prints its id."""
    from imageferry.tasks.forms import parse_param_pairs

    with _session(ctx) as (backend, fmt):
        _created(backend, backend.clone(task_id, parse_param_pairs(param or []), name), fmt)


@app.command("delete")
def delete_command(
    ctx: typer.Context,
    task_id: _TaskId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a task with its runs, results and logs."""
    from imageferry.cli.task_deploy import stack_left_behind

    with _session(ctx) as (backend, fmt):
        task = backend.get_task(task_id)
        label = f"{task_id} ({task.name})" if task.name else task_id
        if not yes and not typer.confirm(f"Delete task {label} and its runs?", err=True):
            typer.echo("not deleted", err=True)
            raise typer.Exit(1)
        left = stack_left_behind(backend, task_id)
        backend.delete(task_id)
        if left:
            typer.echo(f"ferry: note: {left}", err=True)
        if fmt == "json":
            _echo_json({"id": task_id, "deleted": True})
        else:
            typer.echo(f"deleted task {label}")


@app.command("logs")
def logs_command(
    ctx: typer.Context,
    task_id: _TaskId,
    run_id: Annotated[
        str | None,
        typer.Option("--run", metavar="RUN_ID", help="A run id (default: the latest run)."),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-F", help="Keep printing new lines until the run ends.")
    ] = False,
) -> None:
    """A run's log. With -o json: one document, or one JSON object per line with --follow."""
    from imageferry.cli.task_follow import follow_logs, interrupt_on_sigint
    from imageferry.cli.task_view import log_json, log_text

    with _session(ctx) as (backend, fmt):
        run = _run_of(backend, task_id, run_id)
        collected: list[LogRecord] = []

        def sink(line: LogRecord) -> None:
            if fmt == "text":
                typer.echo(log_text(line))
            elif follow:
                typer.echo(json.dumps(log_json(line)))
            else:
                collected.append(line)

        with interrupt_on_sigint() as interrupt:
            run = follow_logs(backend, run.id, sink=sink, interrupt=interrupt, follow=follow)
        if fmt == "json" and not follow:
            _echo_json(
                {
                    "task_id": task_id,
                    "run_id": run.id,
                    "status": run.status.value,
                    "items": [log_json(line) for line in collected],
                }
            )


def _run_of(backend: TaskBackend, task_id: str, run_id: str | None) -> RunRecord:
    if run_id is None:
        latest = backend.latest_run(task_id)
        if latest is None:
            backend.get_task(task_id)
            raise ConfigError(
                f"task {task_id!r} has no runs yet; start one with `ferry task run {task_id}`"
            )
        return latest
    run = backend.get_run(run_id)
    if run.task_id != task_id:
        raise ConfigError(f"run {run_id!r} belongs to task {run.task_id!r}, not {task_id!r}")
    return run


@app.command("prune")
def prune_command(
    ctx: typer.Context,
    keep: Annotated[
        int | None,
        typer.Option(min=1, help="Runs of each task to keep (default FERRY_KEEP_RUNS)."),
    ] = None,
    task_id: Annotated[
        str | None, typer.Option("--task", metavar="TASK_ID", help="Only this task's runs.")
    ] = None,
) -> None:
    """Delete old finished runs with their results and logs, keeping each task's newest."""
    from dataclasses import asdict

    from imageferry.settings import load_settings
    from imageferry.store import open_store

    with _errors(ctx):
        if chosen(ctx, SERVER):
            raise ConfigError(
                "ferry task prune works on the store itself: run it without --server, "
                "with the server's FERRY_DATABASE_URL (or FERRY_DATA_DIR)"
            )
        fmt = output_format(ctx)
        settings = load_settings()
        wanted = keep or settings.keep_runs
        if not wanted:
            raise ConfigError("how many runs to keep? --keep N, or set FERRY_KEEP_RUNS")
        with open_store(settings) as store:
            if task_id is not None:
                store.get_task(task_id)  # TaskNotFound names it
            pruned = store.prune_runs(wanted, task_id)
        if fmt == "json":
            _echo_json({"keep": wanted, **asdict(pruned)})
        else:
            typer.echo(
                f"deleted {pruned.runs} run{'' if pruned.runs == 1 else 's'} "
                f"({pruned.results} image results, "
                f"{pruned.log_lines} log lines); kept the newest {wanted} of each task"
            )


add_deploy_command(app, _session)
