"""How the console names task parameters, and when a parameter applies.

Labels are words, shown with the parameter's name beside them, as the
reference's console and CloudFormation template show them ("Source Region",
``srcRegion``), so a user can move between the console, the CLI and the
reference's parameter table.

A parameter *applies* when the choices made so far give it a meaning: the
source region only for an Amazon ECR source, the image list only when
``srcList=SELECTED``, the ECR repository settings only for an ECR destination.
The wizard hides the fields that do not apply (and does not submit them), the
server drops them from a submitted form in the same way, and the task page
lists only the parameters that apply. The rules are data, rendered into the
page for the script, so the browser and the server can never disagree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from imageferry.tasks.params import PARAMETER_TABLE

__all__ = [
    "DEST_KIND",
    "LABELS",
    "NON_BLANK",
    "OPTION_RULES",
    "RULES",
    "Condition",
    "applicable",
    "applies",
    "dest_kind",
    "label",
    "option_applies",
    "rule_json",
    "shown_parameters",
]

#: Words for every parameter; the reference's own where it has one.
LABELS: Mapping[str, str] = {
    "sourceType": "Source Type",
    "srcRegion": "Source Region",
    "srcAccountId": "Source AWS Account ID",
    "srcList": "Source Image List Type",
    "srcImageList": "Source Image List",
    "srcCredential": "Source Credentials",
    "destRegion": "Destination Region",
    "destAccountId": "Destination AWS Account ID",
    "destPrefix": "Destination Repo Prefix",
    "destCredential": "Destination Credentials",
    "includeUntagged": "Include Untagged",
    "ecsClusterName": "ECS Cluster Name",
    "ecsVpcId": "VPC ID",
    "ecsSubnetA": "First Subnet ID",
    "ecsSubnetB": "Second Subnet ID",
    "alarmEmail": "Alarm Email",
    "srcRegistry": "Source Registry",
    "destRegistry": "Destination Registry",
    "includeTags": "Include Tags",
    "excludeTags": "Exclude Tags",
    "multiArch": "Multi-architecture Images",
    "platforms": "Platforms",
    "copyReferrers": "Copy Referrers",
    "scheduleType": "Schedule Type",
    "scheduleExpression": "Schedule Expression",
    "destScanOnPush": "Scan on Push",
    "destTagMutability": "Tag Mutability",
    "destEncryption": "Encryption Type",
    "destKmsKey": "KMS Key",
    "concurrency": "Concurrency",
    "name": "Task Name",
}

#: The wizard's choice of destination, which no parameter holds: ``ecr``
#: (destRegion and destAccountId) or ``registry`` (destRegistry).
DEST_KIND = "destKind"
#: In a condition, matches any value but blank.
NON_BLANK = "*"

#: Each key must hold one of the listed values (or be non-blank, for ``*``).
Condition = Mapping[str, tuple[str, ...]]

_ECR_SOURCE: Condition = {"sourceType": ("Amazon_ECR",)}
_ECR_DEST: Condition = {DEST_KIND: ("ecr",)}

#: When a field applies: when any one of its conditions holds. Fields not
#: named here always apply.
RULES: Mapping[str, tuple[Condition, ...]] = {
    "srcRegion": (_ECR_SOURCE,),
    "srcAccountId": (_ECR_SOURCE,),
    "srcRegistry": ({"sourceType": ("Public",)},),
    "srcImageList": ({"srcList": ("SELECTED",)},),
    "destRegion": (_ECR_DEST,),
    "destAccountId": (_ECR_DEST,),
    "destScanOnPush": (_ECR_DEST,),
    "destTagMutability": (_ECR_DEST,),
    "destEncryption": (_ECR_DEST,),
    "destKmsKey": ({DEST_KIND: ("ecr",), "destEncryption": ("KMS",)},),
    "destRegistry": ({DEST_KIND: ("registry",)},),
    "scheduleExpression": ({"scheduleType": ("FIXED_RATE", "CRON")},),
}

#: When one choice of a field applies. A public registry cannot be listed, so
#: ``srcList=ALL`` needs an ECR source or a Source Registry with a catalog.
OPTION_RULES: Mapping[tuple[str, str], tuple[Condition, ...]] = {
    ("srcList", "ALL"): (_ECR_SOURCE, {"srcRegistry": (NON_BLANK,)}),
}

_KNOWN = frozenset(p.name for p in PARAMETER_TABLE)
#: A blank parameter takes its default, in conditions as in the task service.
_DEFAULTS = {p.name: p.default for p in PARAMETER_TABLE}


def label(name: str) -> str:
    """The words for parameter ``name``; its name split into words when it has none."""
    return LABELS.get(name) or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).capitalize()


def dest_kind(values: Mapping[str, str]) -> str:
    """``registry`` when the values name a destination registry, else ``ecr``."""
    given = values.get(DEST_KIND, "")
    if given in ("ecr", "registry"):
        return given
    return "registry" if values.get("destRegistry", "").strip() else "ecr"


def _holds(condition: Condition, values: Mapping[str, str]) -> bool:
    for key, wanted in condition.items():
        value = values.get(key, "").strip() or _DEFAULTS.get(key, "")
        if not (value in wanted or (NON_BLANK in wanted and value)):
            return False
    return True


def _any_holds(conditions: tuple[Condition, ...], values: Mapping[str, str]) -> bool:
    return any(_holds(c, values) for c in conditions)


def applies(name: str, values: Mapping[str, str]) -> bool:
    """Does field ``name`` apply, given the other fields' ``values``?"""
    rules = RULES.get(name)
    return rules is None or _any_holds(rules, values)


def option_applies(name: str, option: str, values: Mapping[str, str]) -> bool:
    """May field ``name`` take ``option``, given the other fields' ``values``?"""
    rules = OPTION_RULES.get((name, option))
    return rules is None or _any_holds(rules, values)


def applicable(values: Mapping[str, str]) -> dict[str, str]:
    """``values`` without the fields that do not apply.

    A field hidden because of another hidden field is dropped too: each pass
    judges the fields by the values that are still there, until none changes.
    """
    kept = dict(values)
    kept[DEST_KIND] = dest_kind(values)
    while True:
        dropped = [k for k in kept if k in _KNOWN and not applies(k, kept)]
        if not dropped:
            return kept
        for key in dropped:
            del kept[key]


def rule_json(conditions: tuple[Condition, ...] | None) -> str:
    """``conditions`` as the JSON the page's script reads (empty: always applies)."""
    if conditions is None:
        return ""
    return json.dumps([{k: list(v) for k, v in c.items()} for c in conditions])


def shown_parameters(
    parameters: Mapping[str, str], order: Sequence[str] | None = None
) -> list[str]:
    """The names a task's page lists: non-blank, that apply, in ``order``
    (the parameter table's by default).

    A parameter that does not apply is still listed when it differs from
    its default, so the page never hides a value the task holds.
    """
    kept = applicable(parameters)
    return [
        name
        for name in order or [p.name for p in PARAMETER_TABLE]
        if parameters.get(name, "") != ""
        and (name in kept or parameters[name] != _DEFAULTS.get(name, ""))
    ]
