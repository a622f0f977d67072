"""The forms task parameters arrive in, all turned into plain ``{name: value}`` maps.

Accepted:

* ``--param K=V`` pairs: :func:`parse_param_pairs`.
* The AWS CLI form, pasted verbatim: ``--parameters ParameterKey=K,ParameterValue=V``
  tokens, or a whole ``aws cloudformation create-stack ...`` command line with
  backslash-newline continuations; other options are ignored.
  :func:`parse_aws_cli_parameters`.
* A file (``--file``): a CloudFormation parameters JSON list
  (``[{"ParameterKey": ..., "ParameterValue": ...}]``), ``{"Parameters": {...}}``
  (the ``aws cloudformation deploy`` overrides file), or a YAML/JSON mapping.
  :func:`load_parameters_file`.

:func:`build_spec` merges them, later sources overriding earlier ones, and
validates once, so every problem (unknown keys included, with the closest known
name) is reported together.

AWS CLI shorthand details followed: ``\\,`` is a literal comma inside a value,
``ParameterValue=`` is an empty value, single or double quotes around a value
keep commas. Leniency beyond the CLI: an unescaped comma followed by text that
is not ``Key=`` continues the value (``ParameterValue=a,b`` gives ``a,b``).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from imageferry.errors import ConfigError
from imageferry.tasks.params import TaskSpec

__all__ = [
    "ParameterFormError",
    "build_spec",
    "load_parameters_file",
    "parse_aws_cli_parameters",
    "parse_param_pairs",
]

_SHORTHAND_KEYS = {"ParameterKey", "ParameterValue", "UsePreviousValue", "ResolvedValue"}
_CONTINUATION = re.compile(r"\\\r?\n")


class ParameterFormError(ConfigError):
    """Parameters given in a form we cannot read; the message shows the bad piece."""


def parse_param_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``["srcRegion=us-east-1", ...]`` as a map; the value may contain ``=``."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise ParameterFormError(
                f"--param {pair!r} is not KEY=VALUE; write e.g. --param srcRegion=us-east-1"
            )
        result[key.strip()] = value
    return result


def parse_aws_cli_parameters(text_or_tokens: str | Sequence[str]) -> dict[str, str]:
    """Parameters from the AWS CLI form: a pasted command line or its tokens.

    A string is split as a POSIX shell would (line continuations joined).
    Tokens after ``--parameters`` up to the next ``--option`` are read; with
    no ``--parameters``, every ``ParameterKey=...`` token is. A JSON list, or
    ``file://path``, after ``--parameters`` is read as the CLI would.
    """
    if isinstance(text_or_tokens, str):
        try:
            tokens = shlex.split(_CONTINUATION.sub(" ", text_or_tokens), comments=False)
        except ValueError as e:
            raise ParameterFormError(f"cannot split the pasted command line: {e}") from None
    else:
        tokens = list(text_or_tokens)
    result: dict[str, str] = {}
    for token in _parameter_tokens(tokens):
        if token.startswith("file://"):
            result.update(load_parameters_file(Path(token[len("file://") :])))
        elif token.lstrip().startswith("["):
            result.update(_from_document(_json(token, "--parameters"), "--parameters"))
        else:
            key, value = _shorthand(token)
            result[key] = value
    return result


def _parameter_tokens(tokens: list[str]) -> list[str]:
    selected: list[str] = []
    inside = False
    found = False
    for token in tokens:
        if token.startswith("--parameters="):
            found = inside = True
            selected.append(token.partition("=")[2])
        elif token == "--parameters":
            found = inside = True
        elif token.startswith("--"):
            inside = False
        elif inside:
            selected.append(token)
    if found:
        return [t for t in selected if t.strip()]
    return [t for t in tokens if t.startswith(("ParameterKey=", "ParameterValue="))]


def _shorthand(token: str) -> tuple[str, str]:
    """``ParameterKey=K,ParameterValue=V`` (either order) as ``(K, V)``."""
    fields: dict[str, str] = {}
    current: str | None = None
    for segment in _split_unescaped(token):
        name, eq, value = segment.partition("=")
        if eq and name.strip() in _SHORTHAND_KEYS:
            current = name.strip()
            fields[current] = _unquote(value)
        elif current is not None:
            fields[current] += "," + _unquote(segment)
        else:
            raise ParameterFormError(
                f"--parameters {token!r}: expected ParameterKey=NAME,ParameterValue=VALUE"
            )
    key = fields.get("ParameterKey", "").strip()
    if not key:
        raise ParameterFormError(f"--parameters {token!r} has no ParameterKey=NAME")
    if "ParameterValue" not in fields:
        reason = (
            "uses UsePreviousValue, which needs an existing stack"
            if "UsePreviousValue" in fields
            else "has no ParameterValue"
        )
        raise ParameterFormError(
            f"--parameters {token!r} {reason}; write ParameterKey={key},ParameterValue=VALUE"
        )
    return key, fields["ParameterValue"]


def _split_unescaped(token: str) -> list[str]:
    """Split on commas that are neither backslash-escaped nor inside quotes."""
    segments: list[str] = []
    current: list[str] = []
    quote: str | None = None
    chars = iter(token)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            # "\," is a literal comma; other escapes keep the backslash's target.
            current.append(following if following in ",\"'\\" else char + following)
        elif quote is not None:
            current.append(char)
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
            current.append(char)
        elif char == ",":
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
    segments.append("".join(current))
    return segments


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ParameterFormError(f"{where}: not valid JSON: {e}") from None


def load_parameters_file(path: Path | str) -> dict[str, str]:
    """Parameters from a JSON or YAML file (see the module docstring for shapes).

    YAML is read with every scalar as a string, so an account id such as
    ``012345670123`` keeps its digits; lists become comma lists.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        raise ParameterFormError(
            f"cannot read parameters file {str(file)!r}: {e.strerror}"
        ) from None
    where = f"parameters file {str(file)!r}"
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError:
        import yaml  # YAML parameter files only: not loaded by every task command

        try:
            document = yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506 - strings only
        except yaml.YAMLError as e:
            raise ParameterFormError(f"{where}: neither JSON nor YAML: {e}") from None
    return _from_document(document, where)


def _from_document(document: Any, where: str) -> dict[str, str]:
    if isinstance(document, Mapping) and set(document) == {"Parameters"}:
        document = document["Parameters"]
    if isinstance(document, Mapping):
        return {str(k): _as_text(v, where, str(k)) for k, v in document.items()}
    if isinstance(document, list):
        result: dict[str, str] = {}
        for index, item in enumerate(document):
            if not isinstance(item, Mapping) or "ParameterKey" not in item:
                raise ParameterFormError(
                    f"{where}: item {index} is not "
                    '{"ParameterKey": NAME, "ParameterValue": VALUE}'
                )
            key = str(item["ParameterKey"])
            if "ParameterValue" not in item:
                raise ParameterFormError(f"{where}: {key} has no ParameterValue")
            result[key] = _as_text(item["ParameterValue"], where, key)
        return result
    raise ParameterFormError(
        f"{where}: expected a mapping of name to value or a CloudFormation parameters list"
    )


def _as_text(value: Any, where: str, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ",".join(str(v) for v in value)
    raise ParameterFormError(f"{where}: {key} must be a string, number, boolean or list")


def build_spec(*sources: Mapping[str, str], overrides: Mapping[str, str] | None = None) -> TaskSpec:
    """Merge parameter maps (later wins, ``overrides`` last) and validate once."""
    merged: dict[str, str] = {}
    for source in (*sources, overrides or {}):
        merged.update(source)
    return TaskSpec.from_parameters(merged)
