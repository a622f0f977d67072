"""``ferry aws plan|copy-batch|summarize``: the steps of a run in the AWS deployment.

The stack's state machine runs each as a Fargate task; everything comes from
the environment (``deploy/aws/README.md``, "The container's contract").
Failures are one line on stderr: exit 2 for variables that cannot be used, 1
for a step that failed, 143 for a batch stopped by SIGTERM.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from imageferry.errors import ConfigError, FerryError
from imageferry.logfile import defect_line

if TYPE_CHECKING:
    from imageferry.awsrun.environment import RunEnvironment
    from imageferry.awsrun.storage import RunStorage
    from imageferry.secrets.base import SecretStore
    from imageferry.settings import Settings

# The run's environment (pydantic), storage (boto3) and engine load when a step
# runs, not for `ferry --help`.

__all__ = ["app"]

log = logging.getLogger(__name__)

app = typer.Typer(
    help="The steps of a run in the AWS deployment (run by its state machine).",
    no_args_is_help=True,
)

#: Exit status of a batch stopped by SIGTERM (128 + 15, as a shell reports it).
STOPPED_EXIT = 143


def _say(line: str) -> None:
    typer.echo(line)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"ferry: error: {' '.join(message.split())}", err=True)
    return typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except ConfigError as e:
        raise _fail(str(e), 2) from None
    except FerryError as e:
        raise _fail(str(e), 1) from None
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as e:  # a defect: one line, never a traceback
        log.debug("ferry aws failed", exc_info=True)
        raise _fail(defect_line(e, "a run with the same input"), 1) from None


def _setup(*needs: str) -> tuple[RunEnvironment, RunStorage, Settings, SecretStore | None]:
    from imageferry.awsrun.environment import RunEnvironment
    from imageferry.awsrun.storage import RunStorage
    from imageferry.settings import load_settings

    env = RunEnvironment.read(os.environ, needs=needs)
    settings = load_settings(aws_region=env.region)  # ConfigError for an invalid FERRY_*
    storage = RunStorage(env.region, env.bucket, env.table, env.topic_arn)
    secrets: SecretStore | None = None
    if env.spec.srcCredential or env.spec.destCredential:
        from imageferry.aws import aws_session
        from imageferry.secrets.aws import AwsSecretStore

        secrets = AwsSecretStore(aws_session(env.region))
    return env, storage, settings, secrets


@app.command("plan")
def plan_command() -> None:
    """List and select the images, write the run's batches to RUN_BUCKET.

    Run by the stack's state machine: it reads the task's variables (SRC_REGION ...),
    AWS_DEFAULT_REGION, RUN_BUCKET, RESULT_TABLE, RUN_ID and RUN_INPUT (see
    deploy/aws/README.md, "The container's contract").
    """
    import asyncio

    from imageferry.awsrun.plan import plan_run

    with _errors():
        env, storage, settings, secrets = _setup()
        asyncio.run(plan_run(env, storage, settings, secrets, _say))


@app.command("copy-batch")
def copy_batch_command() -> None:
    """Copy the batch BATCH_KEY names; one row per image in RESULT_TABLE.

    Run by the stack's state machine: it reads the task's variables, AWS_DEFAULT_REGION,
    RUN_BUCKET, RESULT_TABLE, RUN_ID and BATCH_KEY (see deploy/aws/README.md).
    """
    import asyncio

    from imageferry.awsrun.copy_batch import BatchOutcome, copy_batch
    from imageferry.awsrun.emf import metric_line
    from imageferry.awsrun.stopping import StopGate

    gate = StopGate()

    async def run() -> BatchOutcome:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, gate.request)
        return await copy_batch(env, storage, settings, secrets, gate, _say)

    with _errors():
        env, storage, settings, secrets = _setup("BATCH_KEY")
        outcome = asyncio.run(run())
        counts = outcome.counts
        _say(
            metric_line(
                env.namespace,
                env.task_name,
                {
                    "ImagesCopied": counts.copied,
                    "ImagesSkipped": counts.skipped,
                    "ImagesFailed": counts.failed,
                    "BytesCopied": counts.bytes_copied,
                },
            )
        )
        _say(
            f"INFO batch {env.batch_key}: {counts.copied} copied, {counts.skipped} skipped, "
            f"{counts.failed} failed of {outcome.images}"
        )
        if outcome.stopped:
            finished = counts.copied + counts.skipped
            raise _fail(
                f"stopped (SIGTERM): {finished} of {outcome.images} image(s) finished; the "
                "images in flight were completed, no other was started, and no tag was left "
                "half written",
                STOPPED_EXIT,
            )


@app.command("summarize")
def summarize_command() -> None:
    """Count the run's images and tell ALARM_TOPIC_ARN once if any failed.

    Run by the stack's state machine: it reads AWS_DEFAULT_REGION, RUN_BUCKET,
    RESULT_TABLE, ALARM_TOPIC_ARN, RUN_ID and RESULTS_MANIFEST (see deploy/aws/README.md).
    """
    from imageferry.awsrun.summary import summarize_run

    with _errors():
        env, storage, _, _ = _setup()
        summarize_run(env, storage, _say)
