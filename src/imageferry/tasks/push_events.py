"""Push events as registries deliver them, read into :class:`PushEvent` values.

Three shapes, each documented by its sender:

* the distribution registry's notifications: an envelope ``{"events": [...]}``
  whose events have ``action`` ("push"), ``target.repository``, ``target.tag``,
  ``target.digest`` and ``request.host`` (the host the client pushed to);
* Harbor's webhooks: ``type`` "PUSH_ARTIFACT", ``event_data.repository`` and
  ``event_data.resources[]`` with ``tag``, ``digest`` and ``resource_url``
  (``host/namespace/name:tag``);
* ECR's image actions as EventBridge delivers them: ``detail-type`` "ECR Image
  Action", ``account``, ``region`` and ``detail`` with ``action-type`` PUSH,
  ``result`` SUCCESS, ``repository-name``, ``image-tag``, ``image-digest``.

Events that are not a tagged push (a pull, a delete, a blob, a failed push)
are left out without error. A body that is not the shape at all raises
:class:`PushEventError`, one line that says what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imageferry.ecr.hosts import registry_host
from imageferry.errors import ConfigError, InvalidReference
from imageferry.reference import Reference

__all__ = ["PARSERS", "PushEvent", "PushEventError", "parse_push_events"]


class PushEventError(ConfigError):
    """A webhook body that is not the event shape its endpoint takes."""


@dataclass(frozen=True, slots=True)
class PushEvent:
    """One tagged image pushed to a registry."""

    image: Reference
    digest: str = ""
    #: The sender's id for the event, when it gives one (a redelivery repeats it).
    event_id: str = ""


def _at(doc: Any, path: tuple[str, ...], kind: str) -> Any:
    value = doc
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise PushEventError(f"not {kind}: {'.'.join(path)} is missing")
        value = value[key]
    return value


def _text(doc: Any, *path: str, kind: str) -> str:
    value = _at(doc, path, kind)
    if not isinstance(value, str):
        raise PushEventError(f"not {kind}: {'.'.join(path)} is not a string")
    return value


def _list(doc: Any, *path: str, kind: str) -> list[Any]:
    value = _at(doc, path, kind)
    if not isinstance(value, list):
        raise PushEventError(f"not {kind}: {'.'.join(path)} is not a list")
    return value


def _image(host: str, repository: str, tag: str, kind: str) -> Reference:
    try:
        return Reference.parse(f"{host}/{repository}:{tag}")
    except InvalidReference as e:
        raise PushEventError(
            f"not {kind}: {host}/{repository}:{tag} is no image reference ({e.part} {e.reason})"
        ) from None


_DISTRIBUTION = "a distribution registry notification"
_HARBOR = "a Harbor webhook"
_ECR = "an ECR event from EventBridge"


def _distribution(doc: Any) -> list[PushEvent]:
    events = []
    for index, event in enumerate(_list(doc, "events", kind=_DISTRIBUTION)):
        if not isinstance(event, dict) or event.get("action") != "push":
            continue
        target = event.get("target")
        if not isinstance(target, dict) or not target.get("tag"):
            continue  # a blob, or a manifest pushed by digest only
        where = f"events[{index}]"
        kind = f"{_DISTRIBUTION} ({where})"
        host = _text(event, "request", "host", kind=kind)
        repository = _text(event, "target", "repository", kind=kind)
        tag = _text(event, "target", "tag", kind=kind)
        digest = target.get("digest") if isinstance(target.get("digest"), str) else ""
        event_id = event.get("id") if isinstance(event.get("id"), str) else ""
        events.append(PushEvent(_image(host, repository, tag, kind), digest or "", event_id or ""))
    return events


def _harbor(doc: Any) -> list[PushEvent]:
    if not isinstance(doc, dict) or "type" not in doc:
        raise PushEventError(f"not {_HARBOR}: type is missing")
    if doc["type"] != "PUSH_ARTIFACT":
        return []
    name = _text(doc, "event_data", "repository", "repo_full_name", kind=_HARBOR)
    events = []
    for index, resource in enumerate(_list(doc, "event_data", "resources", kind=_HARBOR)):
        kind = f"{_HARBOR} (event_data.resources[{index}])"
        if not isinstance(resource, dict) or not resource.get("tag"):
            continue
        url = _text(resource, "resource_url", kind=kind)
        tag = _text(resource, "tag", kind=kind)
        digest = resource.get("digest") if isinstance(resource.get("digest"), str) else ""
        host = url.split("/", 1)[0]
        events.append(PushEvent(_image(host, name, tag, kind), digest or ""))
    return events


def _ecr(doc: Any) -> list[PushEvent]:
    if _text(doc, "detail-type", kind=_ECR) != "ECR Image Action":
        return []
    if _text(doc, "detail", "action-type", kind=_ECR) != "PUSH":
        return []
    if _text(doc, "detail", "result", kind=_ECR) != "SUCCESS":
        return []
    tag = doc["detail"].get("image-tag")
    if not isinstance(tag, str) or not tag:
        return []
    account = _text(doc, "account", kind=_ECR)
    region = _text(doc, "region", kind=_ECR)
    try:
        host = registry_host(account, region)
    except ConfigError as e:
        raise PushEventError(f"not {_ECR}: {e}") from None
    repository = _text(doc, "detail", "repository-name", kind=_ECR)
    digest = doc["detail"].get("image-digest")
    event_id = doc.get("id")
    return [
        PushEvent(
            _image(host, repository, tag, _ECR),
            digest if isinstance(digest, str) else "",
            event_id if isinstance(event_id, str) else "",
        )
    ]


#: Each sender's parser, by the name its endpoint takes.
PARSERS: dict[str, Callable[[Any], list[PushEvent]]] = {
    "registry": _distribution,
    "harbor": _harbor,
    "ecr": _ecr,
}


def parse_push_events(sender: str, body: bytes) -> list[PushEvent]:
    """The tagged pushes in ``body``, as ``sender`` ("registry", "harbor", "ecr") sends them."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise PushEventError(f"the body is not JSON ({e})") from None
    return PARSERS[sender](doc)
