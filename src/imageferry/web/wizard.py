"""The create-task wizard's steps, in the reference console's order.

Engine → source → images → destination → schedule and alarm → review. Each
step lists the parameters it asks for; the template renders every field,
its allowed values and its help text from
:data:`~imageferry.tasks.params.PARAMETER_TABLE`, so the wizard can never
disagree with the CLI about names, choices or defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from imageferry.tasks.params import PARAMETER_TABLE
from imageferry.web.fields import DEST_KIND, applicable, dest_kind

__all__ = [
    "CREDENTIAL_FIELDS",
    "FIELD_ORDER",
    "WIZARD_STEPS",
    "WizardStep",
    "form_parameters",
    "initial_values",
]

#: Fields whose value is a secret *name*, chosen from the credentials list.
CREDENTIAL_FIELDS = frozenset({"srcCredential", "destCredential"})


@dataclass(frozen=True)
class WizardStep:
    key: str
    title: str
    intro: str
    fields: tuple[str, ...]
    #: Fields folded under "Advanced" (rarely needed locally).
    advanced: tuple[str, ...] = ()


_STEPS: tuple[WizardStep, ...] = (
    WizardStep(
        "engine",
        "Engine",
        "Amazon ECR copies from an ECR registry; Public container registry copies from "
        "Docker Hub, gcr.io, quay.io, ghcr.io or any registry.",
        ("sourceType",),
    ),
    WizardStep(
        "source",
        "Source",
        "Where the images come from. Credentials are chosen by name from the "
        "credentials page; their values never appear here.",
        ("srcRegistry", "srcRegion", "srcAccountId", "srcCredential"),
    ),
    WizardStep(
        "images",
        "Images",
        "All repositories and tags, or a list.",
        ("srcList", "srcImageList", "includeUntagged"),
        ("includeTags", "excludeTags", "multiArch", "platforms", "copyReferrers"),
    ),
    WizardStep(
        "destination",
        "Destination",
        "An ECR region and account, or any registry. The prefix is put before every "
        "source repository name. The ECR repository settings apply to the repositories "
        "imageferry creates when they are missing.",
        (
            "destRegistry",
            "destRegion",
            "destAccountId",
            "destCredential",
            "destPrefix",
            "destScanOnPush",
            "destTagMutability",
            "destEncryption",
            "destKmsKey",
        ),
    ),
    WizardStep(
        "schedule",
        "Schedule and alarm",
        "When the task runs, and who hears about failures.",
        ("name", "scheduleType", "scheduleExpression", "alarmEmail"),
        ("concurrency", "ecsClusterName", "ecsVpcId", "ecsSubnetA", "ecsSubnetB"),
    ),
)

_KNOWN = frozenset(p.name for p in PARAMETER_TABLE)


def _with_every_parameter(steps: tuple[WizardStep, ...]) -> tuple[WizardStep, ...]:
    """``steps`` with any parameter they do not name added under "Advanced".

    Parameters added to the table later still reach the wizard: ``dest*`` ones
    on the destination step, ``src*`` ones on the source step, others on the
    schedule step.
    """
    named = {name for step in steps for name in step.fields + step.advanced}
    extra = [p.name for p in PARAMETER_TABLE if p.name not in named]

    def home(name: str) -> str:
        if name.startswith("dest"):
            return "destination"
        if name.startswith("src"):
            return "source"
        return "schedule"

    return tuple(
        replace(step, advanced=step.advanced + tuple(n for n in extra if home(n) == step.key))
        for step in steps
    )


WIZARD_STEPS: tuple[WizardStep, ...] = _with_every_parameter(_STEPS)

#: Every parameter in the order the wizard asks for it (the review and the
#: task page list them in this order too).
FIELD_ORDER: tuple[str, ...] = tuple(
    name for step in WIZARD_STEPS for name in step.fields + step.advanced
)


def initial_values(parameters: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every field's starting value: the table's defaults, or a cloned task's values.

    The destination kind (ECR or another registry) follows ``destRegistry``.
    """
    values = {p.name: p.default for p in PARAMETER_TABLE}
    if parameters:
        values.update({k: v for k, v in parameters.items() if k in _KNOWN})
    values[DEST_KIND] = dest_kind(values)
    return values


def form_parameters(form: Mapping[str, str]) -> dict[str, str]:
    """The parameters in a submitted wizard form: known names only, blanks dropped.

    Fields that do not apply to the choices made (hidden in the page, see
    :mod:`imageferry.web.fields`) are dropped too, so a value typed before the
    choice changed is neither stored nor validated. Blank fields are left out
    so that the task service applies the table's defaults, exactly as when the
    parameter is not passed to the CLI. Browsers submit textarea line breaks
    as CRLF (HTML, "form submission"); they become plain newlines, as typed.
    """
    return {
        k: v.replace("\r\n", "\n")
        for k, v in applicable(form).items()
        if k in _KNOWN and v.strip() != ""
    }
