"""Transfer-task parameters: the reference's table, validated all at once.

A transfer task is described by the same parameters as the reference's
CloudFormation template (Data Transfer Hub, "Amazon ECR transfer task",
Parameters table), with the same names, allowed values and defaults, so a user
who knows that table can reuse it verbatim. Extensions are marked as such in
:data:`PARAMETER_TABLE` and in the README.

Validation never stops at the first problem: :class:`TaskSpec` collects every
problem (each naming the parameter, what is wrong and the fix) and raises one
:class:`TaskSpecError` carrying them all.

Decisions where the reference is silent or wrong:

* ``srcList=ALL`` with a non-empty ``srcImageList`` is an error: the
  reference ignores the list, so a user who typed one would get everything.
* ``srcList=ALL`` with ``sourceType=Public`` (and no ``srcRegistry``) is an
  error: the reference silently copies nothing.
* ``destPrefix`` loses a trailing ``/`` quietly; a leading ``/`` or an
  uppercase component is an error.
* With ``destRegistry``, ``destRegion``/``destAccountId`` are unused (still
  checked for format when given); with ``srcRegistry``, ``srcRegion`` and
  ``srcAccountId`` are unused.
* ``sourceType``, ``srcList``, ``scheduleType`` and ``includeUntagged`` are
  matched case-insensitively and stored in their canonical spelling.
* ``scheduleExpression`` is ignored (stored empty) for ``ONE_TIME`` and ``ON_PUSH``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from imageferry.ecr.hosts import parse_registry_host
from imageferry.errors import ConfigError, InvalidReference
from imageferry.manifest import Platform
from imageferry.reference import Reference
from imageferry.tasks.parameter_table import (
    ALL_TAGS,
    DEFAULT_RATE,
    PARAMETER_NAMES,
    PARAMETER_TABLE,
    ParameterInfo,
)

__all__ = [
    "ALL_TAGS",
    "PARAMETER_NAMES",
    "PARAMETER_TABLE",
    "ParameterInfo",
    "Problem",
    "TaskSpec",
    "TaskSpecError",
    "closest_parameter",
    "has_registry",
    "parse_image_entry",
    "parse_rate",
    "split_image_list",
]

SourceType = Literal["Amazon_ECR", "Public"]
SourceList = Literal["ALL", "SELECTED"]
MultiArch = Literal["all", "system", "index-only"]
ScheduleType = Literal["ONE_TIME", "FIXED_RATE", "CRON", "ON_PUSH"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the parameters: which one, and what to do."""

    parameter: str
    message: str

    def __str__(self) -> str:
        return f"{self.parameter}: {self.message}"


class TaskSpecError(ConfigError):
    """The task parameters cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        lines = "\n".join(f"  - {p}" for p in problems)
        count = len(problems)
        super().__init__(
            f"invalid task parameters ({count} problem{'s' if count != 1 else ''}):\n{lines}"
        )
        self.problems = list(problems)


#: The most images a task may copy at once: the copy engine's memory cap.
MAX_CONCURRENCY = 256
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ACCOUNT = re.compile(r"^\d{12}$")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}$")
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")
_VPC = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_CLUSTER = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_SHORT_RATE = re.compile(r"^(\d+)\s*([mhd])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
# Placeholder registry used only to check the grammar of srcImageList entries.
_PROBE_REGISTRY = "registry.invalid"


def is_region(name: str) -> bool:
    """Whether ``name`` has the form of an AWS region name (us-east-1, cn-north-1, ...)."""
    return bool(_REGION.match(name))


def closest_parameter(key: str) -> str | None:
    """The known parameter name nearest to a mistyped ``key``, if any is close."""
    lowered = {name.lower(): name for name in PARAMETER_NAMES}
    match = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def split_image_list(text: str) -> tuple[str, ...]:
    """``srcImageList`` entries: split on commas and newlines, blanks dropped."""
    return tuple(e.strip() for e in re.split(r"[,\n\r]", text) if e.strip())


def parse_rate(expression: str) -> timedelta:
    """A FIXED_RATE expression as an interval: ``rate(N unit)`` or ``Nd``/``Nh``/``Nm``.

    The ``rate(...)`` form is EventBridge's schedule syntax; the short form is ours.
    """
    text = expression.strip()
    match = _RATE.match(text)
    if match:
        count, unit = int(match.group(1)), match.group(2)[0]
    else:
        short = _SHORT_RATE.match(text)
        if not short:
            raise ValueError(
                f"{expression!r} is not a rate; use rate(1 day), rate(6 hours), "
                "rate(30 minutes), 1d, 6h or 30m"
            )
        count, unit = int(short.group(1)), short.group(2)
    if count < 1:
        raise ValueError(f"{expression!r}: the rate must be at least 1 {unit}")
    return timedelta(seconds=count * _UNIT_SECONDS[unit])


class TaskSpec(BaseModel):
    """A validated transfer task. Field names are the parameter names.

    Build it with :meth:`from_parameters` (string values as CloudFormation
    gives them) or ``TaskSpec(**values)``; both raise :class:`TaskSpecError`
    listing every problem. ``model_dump()`` gives the parameter names back.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sourceType: SourceType = "Amazon_ECR"
    srcRegion: str = ""
    srcAccountId: str = ""
    srcList: SourceList = "ALL"
    srcImageList: str = ""
    srcCredential: str = ""
    destRegion: str = ""
    destAccountId: str = ""
    destPrefix: str = ""
    destCredential: str = ""
    includeUntagged: bool = True
    alarmEmail: str = ""
    ecsClusterName: str = ""
    ecsVpcId: str = ""
    ecsSubnetA: str = ""
    ecsSubnetB: str = ""
    # Extensions (see PARAMETER_TABLE).
    srcRegistry: str = ""
    destRegistry: str = ""
    includeTags: str = ""
    excludeTags: str = ""
    multiArch: MultiArch = "all"
    platforms: str = ""
    scheduleType: ScheduleType = "FIXED_RATE"
    scheduleExpression: str = DEFAULT_RATE
    copyReferrers: bool = False
    destScanOnPush: bool = False
    destTagMutability: Literal["MUTABLE", "IMMUTABLE"] = "MUTABLE"
    destEncryption: Literal["AES256", "KMS"] = "AES256"
    destKmsKey: str = ""
    #: Images copied at once; None lets each registry's adaptive window set the pace.
    concurrency: int | None = None
    name: str = ""

    @model_validator(mode="before")
    @classmethod
    def _check_everything(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise TaskSpecError([Problem("parameters", "expected a mapping of name to value")])
        return _Checker(data).run()

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, object]) -> TaskSpec:
        """Validate a parameter mapping (usually all strings) into a spec."""
        return cls.model_validate(dict(parameters))

    def parameters(self) -> dict[str, str]:
        """Every parameter as the string CloudFormation would show, table order."""
        values = self.model_dump()
        out: dict[str, str] = {}
        for name in PARAMETER_NAMES:
            value = values[name]
            if isinstance(value, bool):
                out[name] = "true" if value else "false"
            else:
                out[name] = "" if value is None else str(value)
        return out

    @property
    def image_entries(self) -> tuple[str, ...]:
        """The ``srcImageList`` entries, in order."""
        return split_image_list(self.srcImageList)

    @property
    def platform_list(self) -> tuple[Platform, ...]:
        return tuple(Platform.parse(p) for p in _split_commas(self.platforms))

    @property
    def include_pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.includeTags) if self.includeTags else None

    @property
    def exclude_pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.excludeTags) if self.excludeTags else None

    @property
    def interval(self) -> timedelta | None:
        """The FIXED_RATE interval; None for ONE_TIME and CRON."""
        if self.scheduleType != "FIXED_RATE":
            return None
        return parse_rate(self.scheduleExpression)

    def tag_wanted(self, tag: str) -> bool:
        """Do ``includeTags``/``excludeTags`` let a listed tag through?"""
        include, exclude = self.include_pattern, self.exclude_pattern
        if include is not None and not include.fullmatch(tag):
            return False
        return not (exclude is not None and exclude.fullmatch(tag))


def _cron_matches_a_date(expression: str) -> bool:
    """Whether a valid cron expression ever fires (``0 0 30 2 *`` never does)."""
    from croniter import CroniterBadDateError, croniter  # only for scheduled tasks

    try:
        croniter(expression, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except (CroniterBadDateError, ValueError):
        return False
    return True


def _split_commas(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _canonical(value: str, allowed: tuple[str, ...]) -> str | None:
    for candidate in allowed:
        if value.lower() == candidate.lower():
            return candidate
    return None


class _Checker:
    """Normalises raw parameter values and collects every problem."""

    def __init__(self, data: Mapping[Any, Any]) -> None:
        self.raw = data
        self.problems: list[Problem] = []
        self.out: dict[str, Any] = {}

    def problem(self, parameter: str, message: str) -> None:
        self.problems.append(Problem(parameter, message))

    def text(self, name: str) -> str:
        value = self.raw.get(name)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value).strip()

    def run(self) -> dict[str, Any]:
        for key in self.raw:
            if key not in PARAMETER_NAMES:
                hint = closest_parameter(str(key))
                fix = f"did you mean {hint}?" if hint else "see the parameter table"
                self.problem(str(key), f"unknown parameter; {fix}")
        self._choices()
        self._plain()
        self._aws_ids()
        self._registries()
        self._prefix()
        self._images()
        self._extensions()
        self._schedule()
        self._relations()
        if self.problems:
            raise TaskSpecError(self.problems)
        return self.out

    def _choices(self) -> None:
        for info in PARAMETER_TABLE:
            if not info.allowed or info.name == "includeUntagged":
                continue
            given = self.text(info.name)
            if not given:
                self.out[info.name] = info.default
                continue
            canonical = _canonical(given, info.allowed)
            if canonical is None:
                self.problem(
                    info.name, f"{given!r} is not allowed; use one of {', '.join(info.allowed)}"
                )
            self.out[info.name] = canonical or info.default
        raw = self.raw.get("includeUntagged")
        flag = raw if isinstance(raw, bool) else self.text("includeUntagged").lower()
        if flag in ("", "true", True):
            self.out["includeUntagged"] = True
        elif flag in ("false", False):
            self.out["includeUntagged"] = False
        else:
            self.problem("includeUntagged", f"{raw!r} is not allowed; use true or false")
            self.out["includeUntagged"] = True

    def _plain(self) -> None:
        self.out["destScanOnPush"] = self.out.get("destScanOnPush") == "true"
        self.out["copyReferrers"] = self.out.get("copyReferrers") == "true"
        kms = self.out["destKmsKey"] = self.text("destKmsKey")
        if kms and self.out.get("destEncryption") != "KMS":
            self.problem("destKmsKey", "a KMS key needs destEncryption=KMS; set it or drop the key")
        for name in ("srcImageList", "name", "includeTags", "excludeTags"):
            self.out[name] = self.text(name)
        for name in ("srcCredential", "destCredential"):
            value = self.out[name] = self.text(name)
            if value and not _SECRET_NAME.match(value):
                self.problem(
                    name,
                    f"{value!r} is not a secret name; use letters, digits and /_+=.@- "
                    "(the name of the secret, not its value)",
                )
        email = self.out["alarmEmail"] = self.text("alarmEmail")
        if email and not _EMAIL.match(email):
            self.problem("alarmEmail", f"{email!r} is not an e-mail address; use name@example.com")

    def _aws_ids(self) -> None:
        for name in ("srcRegion", "destRegion"):
            value = self.out[name] = self.text(name)
            if value and not _REGION.match(value):
                self.problem(
                    name, f"{value!r} is not an AWS region name; use e.g. us-east-1 or cn-north-1"
                )
        for name in ("srcAccountId", "destAccountId"):
            value = self.out[name] = self.text(name).replace("-", "")
            if value and not _ACCOUNT.match(value):
                self.problem(
                    name,
                    f"{self.text(name)!r} is not an AWS account id; use its 12 digits, "
                    "or leave it blank for the current account",
                )
        checks = (
            ("ecsClusterName", _CLUSTER, "letters, digits, '-' and '_' (up to 255)"),
            ("ecsVpcId", _VPC, "vpc- followed by 8 or 17 hex digits, e.g. vpc-bef13dc7"),
            ("ecsSubnetA", _SUBNET, "subnet- and hex digits, e.g. subnet-97bfc4cd"),
            ("ecsSubnetB", _SUBNET, "subnet- and hex digits, e.g. subnet-7ad7de32"),
        )
        for name, pattern, form in checks:
            value = self.out[name] = self.text(name)
            if value and not pattern.match(value):
                self.problem(name, f"{value!r} is not valid; use {form}")

    def _registries(self) -> None:
        for name in ("srcRegistry", "destRegistry"):
            value = self.text(name)
            self.out[name] = value
            if not value:
                continue
            if "://" in value:
                _, _, rest = value.partition("://")
                self.problem(
                    name, f"{value!r} has a scheme; give host[:port] only, e.g. {rest.rstrip('/')}"
                )
                continue
            host = value.rstrip("/")
            looks_like_host = "." in host or ":" in host or host == "localhost"
            try:
                parsed = Reference.parse(f"{host}/probe:latest")
            except InvalidReference as e:
                self.problem(name, f"{value!r} is not a registry host[:port]: {e.reason}")
                continue
            if not looks_like_host or "/" in host:
                self.problem(
                    name,
                    f"{value!r} is not a registry host[:port]; use e.g. registry.example.com "
                    "or localhost:5000",
                )
                continue
            self.out[name] = parsed.registry

    def _prefix(self) -> None:
        value = self.text("destPrefix").rstrip("/")
        self.out["destPrefix"] = value
        if not value:
            return
        if value.startswith("/"):
            self.problem(
                "destPrefix", f"{value!r} must not start with '/'; use {value.lstrip('/')}"
            )
            return
        bad = [c for c in value.split("/") if not _COMPONENT.match(c)]
        if bad:
            suggestion = value.lower()
            fix = f"use e.g. {suggestion!r}" if _prefix_ok(suggestion) else "use e.g. 'mirror/team'"
            self.problem(
                "destPrefix",
                f"component {bad[0]!r} is not a valid repository path component (lowercase "
                f"letters and digits separated by '.', '_', '__' or '-'); {fix}",
            )

    def _images(self) -> None:
        public = self.out["sourceType"] == "Public" and not self.out["srcRegistry"]
        ecr = self.out["sourceType"] == "Amazon_ECR" and not self.out["srcRegistry"]
        registry = None if public else (self.out["srcRegistry"] or _PROBE_REGISTRY)
        hosts: set[str] = set()
        for entry in split_image_list(self.out["srcImageList"]):
            try:
                hosts.add(parse_image_entry(entry, registry, ecr=ecr).registry)
            except InvalidReference as e:
                self.problem(
                    "srcImageList",
                    f"entry {entry!r}: {e.part} {e.reason}; write repo, repo:tag, repo:ALL_TAGS, "
                    "repo@sha256:<hex> or host[:port]/repo:tag",
                )
        credential = str(self.raw.get("srcCredential") or "").strip()
        if public and credential and len(hosts) > 1:
            # A password is for one registry; sent to each, it would reach the others.
            self.problem(
                "srcCredential",
                f"{credential!r} is for one registry, but srcImageList names images from "
                f"{len(hosts)}: {', '.join(sorted(hosts))}; set srcRegistry to the registry it "
                "is for, or copy each registry's images in a task of its own",
            )

    def _extensions(self) -> None:
        for name in ("includeTags", "excludeTags"):
            pattern = self.out[name]
            if pattern:
                try:
                    re.compile(pattern)
                except re.error as e:
                    self.problem(name, f"{pattern!r} is not a regular expression: {e}")
        self.out["platforms"] = ",".join(_split_commas(self.text("platforms")))
        for item in _split_commas(self.out["platforms"]):
            try:
                Platform.parse(item)
            except ValueError:
                self.problem(
                    "platforms", f"{item!r} is not os/architecture[/variant]; e.g. linux/arm64/v8"
                )
        raw = self.text("concurrency")
        if not raw:  # blank: the registries' adaptive windows set the pace
            self.out["concurrency"] = None
            return
        concurrency: int | None
        try:
            concurrency = int(raw)
        except ValueError:
            concurrency = 0
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            self.problem(
                "concurrency",
                f"{raw!r} is not a whole number from 1 to {MAX_CONCURRENCY}; "
                "leave it blank to let each registry's replies set the pace",
            )
            concurrency = None
        self.out["concurrency"] = concurrency

    def _schedule(self) -> None:
        kind = self.out["scheduleType"]
        expression = self.text("scheduleExpression")
        if kind in ("ONE_TIME", "ON_PUSH"):
            self.out["scheduleExpression"] = ""
        elif kind == "FIXED_RATE":
            expression = expression or DEFAULT_RATE
            self.out["scheduleExpression"] = expression
            try:
                parse_rate(expression)
            except ValueError as e:
                self.problem("scheduleExpression", str(e))
        else:
            self.out["scheduleExpression"] = expression
            from croniter import croniter  # only for scheduled tasks

            fields = expression.split()
            if len(fields) != 5 or not croniter.is_valid(expression):
                self.problem(
                    "scheduleExpression",
                    f"{expression!r} is not a 5-field cron expression (minute hour day month "
                    "weekday); e.g. '0 3 * * *' for 03:00 every day",
                )
            elif not _cron_matches_a_date(expression):
                self.problem(
                    "scheduleExpression",
                    f"{expression!r} matches no date (such as 30 February), so the task would "
                    "never run; e.g. '0 0 28 2 *' for 28 February",
                )

    def _relations(self) -> None:
        out = self.out
        has_list = bool(split_image_list(out["srcImageList"]))
        if out["srcList"] == "ALL":
            if out["sourceType"] == "Public" and not out["srcRegistry"]:
                self.problem(
                    "srcList",
                    "a public registry cannot be listed; use srcList=SELECTED with "
                    "srcImageList=repo:tag,... (or give srcRegistry to list its catalog)",
                )
            if has_list:
                self.problem(
                    "srcImageList",
                    "is ignored when srcList=ALL; set srcList=SELECTED to copy only these "
                    "images, or leave srcImageList blank to copy everything",
                )
        elif not has_list:
            self.problem(
                "srcImageList",
                "is empty but srcList=SELECTED; list images such as ubuntu:latest,alpine:3.19 "
                "(or use srcList=ALL)",
            )
        if out["sourceType"] == "Amazon_ECR" and not out["srcRegistry"] and not out["srcRegion"]:
            self.problem(
                "srcRegion",
                "is required for an Amazon_ECR source; give e.g. srcRegion=us-east-1 "
                "(or srcRegistry=host[:port] for another registry)",
            )
        if not out["destRegion"] and not out["destRegistry"]:
            self.problem(
                "destRegion",
                "no destination; give destRegion (Amazon ECR) or destRegistry=host[:port]",
            )


def _prefix_ok(prefix: str) -> bool:
    return all(_COMPONENT.match(c) for c in prefix.split("/"))


def has_registry(entry: str, *, ecr: bool = False) -> bool:
    """Does an image entry name its own registry (a first part with '.', ':', or localhost)?

    For an Amazon ECR source (``ecr``) a dot alone does not make a host: ECR
    repository names may hold dots (``my.team/app``). There a first part is a
    host only if it is an ECR host, has a port, or is localhost.
    """
    first, slash, _ = entry.partition("/")
    if not slash:
        return False
    if ":" in first or first.lower() == "localhost" or first.startswith("["):
        return True
    if ecr:
        return parse_registry_host(first.lower()) is not None
    return "." in first


def parse_image_entry(entry: str, registry: str | None, *, ecr: bool = False) -> Reference:
    """One ``srcImageList`` entry as a reference.

    An entry naming its own registry (``host:5000/x:tag``) is taken as is.
    Otherwise it lives in ``registry`` (the ECR host or ``srcRegistry``) and is
    not Docker-Hub-normalised: ECR's ``ubuntu`` stays ``ubuntu``. With
    ``registry=None`` (a Public source) Docker Hub rules apply:
    ``ubuntu`` is ``docker.io/library/ubuntu:latest``. The tag ``ALL_TAGS``
    is kept as is for the caller to expand; it cannot carry a digest.
    """
    text = entry if registry is None or has_registry(entry, ecr=ecr) else f"{registry}/{entry}"
    reference = Reference.parse(text)
    if reference.tag == ALL_TAGS and reference.digest is not None:
        raise InvalidReference(entry, "tag", "ALL_TAGS cannot be combined with a digest")
    return reference
