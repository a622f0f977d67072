"""Which tasks a pushed image concerns, and the one image pair its run copies.

Pure logic, no I/O: a push event names one image (registry host, repository,
tag); an ``ON_PUSH`` task wants it when its selection would list it:

* ``srcList=ALL``: the image is in the task's source registry and its tag
  passes ``includeTags``/``excludeTags``;
* ``srcList=SELECTED``: an entry names that repository with that tag, or with
  ``ALL_TAGS`` and a tag the filters let through.

An ECR source with a blank ``srcAccountId`` (the account the server runs as)
matches pushes in ``srcRegion`` of any account, since the webhook cannot ask
STS which account that is; the run resolves the account as every run does.
"""

from __future__ import annotations

from collections.abc import Sequence

from imageferry.ecr.hosts import parse_registry_host
from imageferry.errors import InvalidReference
from imageferry.reference import Reference
from imageferry.tasks.params import ALL_TAGS, TaskSpec, parse_image_entry
from imageferry.tasks.selection import (
    ImagePair,
    Selection,
    destination_for,
    destination_registry,
    ecr_registry_host,
)

__all__ = ["pushed_selection", "wants"]


def _source_host(spec: TaskSpec, pushed: Reference) -> str | None:
    """The task's source registry host as the push would name it; None for Public."""
    if spec.srcRegistry:
        return spec.srcRegistry
    if spec.sourceType == "Public":
        return None
    if spec.srcAccountId:
        return ecr_registry_host(spec.srcAccountId, spec.srcRegion)
    ecr = parse_registry_host(pushed.registry)
    if ecr is None or ecr.region != spec.srcRegion:
        return None
    return ecr.host


def wants(spec: TaskSpec, pushed: Reference) -> bool:
    """Would a run of ``spec`` copy ``pushed`` (a tagged source image)?"""
    if pushed.tag is None:
        return False
    source = _source_host(spec, pushed)
    if spec.srcList == "ALL":
        return source == pushed.registry and spec.tag_wanted(pushed.tag)
    ecr = spec.sourceType == "Amazon_ECR" and not spec.srcRegistry
    for entry in spec.image_entries:
        try:
            named = parse_image_entry(entry, source, ecr=ecr)
        except InvalidReference:
            continue
        if (named.registry, named.repository) != (pushed.registry, pushed.repository):
            continue
        if named.tag == pushed.tag and named.digest is None:
            return True
        if named.tag == ALL_TAGS and spec.tag_wanted(pushed.tag):
            return True
    return False


def pushed_selection(
    spec: TaskSpec, images: Sequence[str], *, account_id: str | None = None
) -> Selection:
    """The run of a push: each pushed image the task wants, to its destination."""
    destination = destination_registry(spec, account_id=account_id)
    pairs: list[ImagePair] = []
    notes: list[str] = []
    for text in dict.fromkeys(images):
        source = Reference.parse(text)
        if wants(spec, source):
            pairs.append(ImagePair(source, destination_for(source, destination, spec.destPrefix)))
        else:
            notes.append(f"pushed image {source} is not in this task's selection any more")
    notes.append(f"run of a push: {len(pairs)} pushed image(s)")
    return Selection(tuple(pairs), tuple(notes))
