"""The container's environment, read once into typed values.

The task's parameters arrive as variables named after them in upper snake case
(``srcImageList`` -> ``SRC_IMAGE_LIST``) and are validated by
:meth:`TaskSpec.from_parameters`, exactly as ``ferry task`` validates them;
every problem is reported at once, on one line, by variable name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from imageferry.errors import ConfigError
from imageferry.tasks.params import TaskSpec, TaskSpecError, is_region

__all__ = ["TASK_PARAMETERS", "RunEnvironment", "variable_name"]

#: The task parameters the template passes to the container (the reference's
#: table without its ECS and e-mail ones, plus the selection extensions).
TASK_PARAMETERS = (
    "sourceType",
    "srcRegion",
    "srcAccountId",
    "srcList",
    "srcImageList",
    "srcCredential",
    "destRegion",
    "destAccountId",
    "destPrefix",
    "destCredential",
    "includeUntagged",
    "includeTags",
    "excludeTags",
    "platforms",
    "copyReferrers",
    "concurrency",
)


def variable_name(parameter: str) -> str:
    """``srcImageList`` -> ``SRC_IMAGE_LIST``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", parameter).upper()


@dataclass(frozen=True)
class RunEnvironment:
    """What one ``ferry aws`` command reads from its environment."""

    spec: TaskSpec
    region: str
    account_id: str
    bucket: str
    table: str
    topic_arn: str
    namespace: str
    task_name: str
    run_id: str
    run_input: dict[str, Any] = field(default_factory=dict)
    batch_key: str = ""
    results_manifest: str = ""

    @classmethod
    def read(cls, env: Mapping[str, str], *, needs: tuple[str, ...] = ()) -> RunEnvironment:
        """Parse ``env``; ``needs`` are the step's own variables (``BATCH_KEY`` ...)."""
        required = ("AWS_DEFAULT_REGION", "RUN_BUCKET", "RESULT_TABLE", "RUN_ID", *needs)
        missing = [name for name in required if not env.get(name, "").strip()]
        if missing:
            raise ConfigError(
                f"missing environment variable(s): {', '.join(missing)}; the stack's task "
                "definition and the state machine set them (deploy/aws/README.md)"
            )
        region = env["AWS_DEFAULT_REGION"].strip()
        if not is_region(region):
            raise ConfigError(
                f"AWS_DEFAULT_REGION {region!r} is not an AWS region name, e.g. us-east-1; "
                "the stack's task definition sets it to the stack's region"
            )
        return cls(
            spec=_spec(env),
            region=region,
            account_id=env.get("AWS_ACCOUNT_ID", "").strip(),
            bucket=env["RUN_BUCKET"].strip(),
            table=env["RESULT_TABLE"].strip(),
            topic_arn=env.get("ALARM_TOPIC_ARN", "").strip(),
            namespace=env.get("METRICS_NAMESPACE", "").strip() or "imageferry",
            task_name=env.get("TASK_NAME", "").strip() or "imageferry",
            run_id=env["RUN_ID"].strip(),
            run_input=_run_input(env.get("RUN_INPUT", "")),
            batch_key=env.get("BATCH_KEY", "").strip(),
            results_manifest=env.get("RESULTS_MANIFEST", "").strip(),
        )


def _spec(env: Mapping[str, str]) -> TaskSpec:
    parameters = {
        name: env[variable_name(name)] for name in TASK_PARAMETERS if variable_name(name) in env
    }
    # Not a scheduled task here: the stack's rules start the runs.
    parameters["scheduleType"] = "ONE_TIME"
    try:
        return TaskSpec.from_parameters(parameters)
    except TaskSpecError as e:
        problems = "; ".join(f"{variable_name(p.parameter)}: {p.message}" for p in e.problems)
        raise ConfigError(f"invalid task variables: {problems}") from None


def _run_input(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(
            f'RUN_INPUT is not JSON ({e.msg}); expected e.g. {{"trigger": "schedule"}}'
        ) from None
    if not isinstance(value, dict):
        raise ConfigError('RUN_INPUT must be a JSON object, e.g. {"trigger": "schedule"}')
    return value
