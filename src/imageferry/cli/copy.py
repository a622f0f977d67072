"""``ferry copy``: copy images between registries; ``ferry demo``: see it work locally."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from imageferry.errors import ConfigError, FerryError
from imageferry.reference import Reference

if TYPE_CHECKING:
    from imageferry.copy import ImageResult, ProgressSink

__all__ = ["ListedPair", "parse_pairs_file", "read_pairs_file", "register"]

OutputFormat = Literal["text", "json"]

_INTERRUPTED = "interrupted; nothing is left half-tagged, run the same command again to finish"


@dataclass(frozen=True, slots=True)
class ListedPair:
    """One ``SOURCE DESTINATION`` pair and where it was written.

    ``origin`` is ``FILE:LINE`` for a pair read from ``--from-file`` (so that an
    error can point at it), ``""`` for one given as arguments.
    """

    source: str
    destination: str
    origin: str = ""


def parse_pairs_file(text: str, origin: str = "file") -> list[ListedPair]:
    """``SRC DST`` per line; blank lines and ``#`` comments ignored."""
    pairs: list[ListedPair] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 2:
            raise ConfigError(
                f"{origin}:{number}: expected 'SOURCE DESTINATION', got {len(fields)} "
                f"field(s): {line!r}"
            )
        pairs.append(ListedPair(fields[0], fields[1], f"{origin}:{number}"))
    return pairs


def read_pairs_file(from_file: Path) -> tuple[str, str]:
    """``(name, text)`` of ``--from-file`` (``-``: stdin), decoded as UTF-8.

    A byte-order mark (Windows editors write one) is dropped; bytes that are not
    UTF-8 are a :class:`ConfigError` naming the file and the line.
    """
    stdin = str(from_file) == "-"
    name = "<stdin>" if stdin else str(from_file)
    try:
        data = sys.stdin.buffer.read() if stdin else from_file.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read --from-file {name}: {e.strerror or e}") from None
    try:
        return name, data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ConfigError(
            f"cannot read --from-file {name}: line {line} is not UTF-8 "
            f"(byte 0x{data[e.start]:02x}); save the file as UTF-8"
        ) from None


def _pairs_from_args(images: Sequence[str], from_file: Path | None) -> list[ListedPair]:
    if len(images) % 2:
        raise ConfigError(
            f"images come in SOURCE DESTINATION pairs; got {len(images)} argument(s), "
            f"the last one ({images[-1]!r}) has no destination"
        )
    pairs = [ListedPair(s, d) for s, d in zip(images[::2], images[1::2], strict=True)]
    if from_file is not None:
        name, text = read_pairs_file(from_file)
        pairs += parse_pairs_file(text, name)
    if not pairs:
        raise ConfigError("nothing to copy: give SOURCE DESTINATION pairs or --from-file FILE")
    return pairs


def _parse_references(pairs: list[ListedPair]) -> list[tuple[Reference, Reference]]:
    problems: list[str] = []
    parsed: list[tuple[Reference, Reference]] = []
    for pair in pairs:
        try:
            parsed.append((Reference.parse(pair.source), Reference.parse(pair.destination)))
        except FerryError as e:
            problems.append(f"{pair.origin}: {e}" if pair.origin else str(e))
    if problems:
        raise ConfigError("; ".join(problems))
    return parsed


def _check_authfile(path: Path) -> None:
    """Read ``--authfile`` now: a missing or broken file is exit 2, before any request."""
    from imageferry.registry.credentials import DockerConfigCredentials

    DockerConfigCredentials(path, label="--authfile")


def _print_notes(notes: Iterable[tuple[str, Sequence[str]]]) -> None:
    """One stderr line per note of each ``(source, notes)``, for text output.

    Notes say what a copy did not do as asked (a platform filter not applied,
    a foreign layer left out); JSON output carries them per image instead.
    Printed after the run, so below any progress bars.
    """
    for source, texts in notes:
        for note in texts:
            typer.echo(f"ferry: note: {source}: {note}", err=True)


def _echo_document(results: Sequence[ImageResult], summary: dict[str, object]) -> None:
    """``-o json``: one document, the images and the summary."""
    doc = {"images": [r.to_json() for r in results], "summary": summary}
    typer.echo(json.dumps(doc, indent=2))


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"ferry: error: {message}", err=True)
    return typer.Exit(code)


def copy_command(
    images: Annotated[
        list[str] | None,
        typer.Argument(help="SOURCE DESTINATION pairs, e.g. alpine:3.20 localhost:5000/alpine"),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", "-f", help="File of 'SOURCE DESTINATION' lines ('-' = stdin)."),
    ] = None,
    multi_arch: Annotated[
        str, typer.Option(help="all (keep the index, digest preserved) | system | index-only")
    ] = "all",
    platform: Annotated[
        str | None,
        typer.Option(help="Copy only these platforms, e.g. linux/amd64,linux/arm64 (new index)."),
    ] = None,
    include_foreign_layers: Annotated[
        bool, typer.Option(help="Also copy non-distributable (foreign) layers.")
    ] = False,
    src_creds: Annotated[
        str | None, typer.Option(help="USER:PASS for the source registries.", envvar=None)
    ] = None,
    dest_creds: Annotated[str | None, typer.Option(help="USER:PASS for the destinations.")] = None,
    authfile: Annotated[
        Path | None, typer.Option(help="Docker config.json with credentials.")
    ] = None,
    insecure_registry: Annotated[
        list[str] | None,
        typer.Option(
            help="Allow plain HTTP / unverified TLS to this host (repeatable, or a comma list).",
            envvar="FERRY_INSECURE_REGISTRIES",
        ),
    ] = None,
    mirror: Annotated[
        list[str] | None,
        typer.Option(
            help="Remap a registry: NAME=LOCATION, e.g. docker.io=mirror:5000 (repeatable).",
            envvar="FERRY_REGISTRY_MIRRORS",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=256,
            help="Images in flight at most (default: as many as each registry's "
            "adaptive request window takes).",
        ),
    ] = None,
    create_repositories: Annotated[
        bool, typer.Option(help="Create missing ECR destination repositories first.")
    ] = True,
    referrers: Annotated[
        bool,
        typer.Option(
            help="Also copy what refers to each image: signatures, SBOMs, attestations "
            "(OCI referrers API and tag schema, cosign's .sig/.att/.sbom tags)."
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="List what would be copied; change nothing.")] = (
        False
    ),
    output: Annotated[str, typer.Option("--output", "-o", help="text | json")] = "text",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Copy images from SOURCE to DESTINATION, byte for byte, digests preserved."""
    # Imported here, not at the top: `ferry copy --help` needs none of them.
    import asyncio

    from imageferry.cli.finished import FinishedSink
    from imageferry.runner import (
        CopyRequest,
        describe_planned,
        planned_json,
        run_copy,
        run_dry_run,
    )

    try:
        if output not in ("text", "json"):
            raise ConfigError(f"--output must be text or json, not {output!r}")
        pairs = _parse_references(_pairs_from_args(images or [], from_file))
        if authfile is not None:
            _check_authfile(authfile)
        request = CopyRequest.build(
            pairs=pairs,
            multi_arch=multi_arch,
            platforms=platform,
            include_foreign_layers=include_foreign_layers,
            src_creds=src_creds,
            dest_creds=dest_creds,
            authfile=authfile,
            insecure=insecure_registry or [],
            mirrors=mirror or [],
            concurrency=concurrency,
            create_repositories=create_repositories,
            referrers=referrers,
        )
    except FerryError as e:
        raise _fail(str(e), 2) from None

    if dry_run:
        try:
            planned = asyncio.run(run_dry_run(request))
        except KeyboardInterrupt:
            typer.echo("ferry: interrupted; nothing was changed", err=True)
            raise typer.Exit(130) from None
        if output == "json":
            typer.echo(json.dumps({"images": [planned_json(p) for p in planned]}, indent=2))
        else:
            for p in planned:
                typer.echo(describe_planned(p))
            _print_notes((p.source, p.notes) for p in planned)
        raise typer.Exit(1 if any(p.error for p in planned) else 0)

    progress: ProgressSink | None = None
    finished = FinishedSink()
    if output == "json":
        progress = finished
    elif not quiet:
        from imageferry.cli.progress import make_progress  # rich only when drawing

        progress = make_progress(quiet=False)
    try:
        results, summary = asyncio.run(run_copy(request, progress))
    except FerryError as e:
        raise _fail(str(e), 1) from None
    except KeyboardInterrupt:
        # asyncio.run has cancelled every copy. A tag is the last thing an image
        # copy writes (blobs, then manifests), so a cancelled copy leaves at most
        # untagged content that the next run reuses.
        if output == "json":
            # A script still gets one document: the images that finished.
            from imageferry.copy import summarize

            done = list(finished.results.values())
            _echo_document(done, {**summarize(done), "interrupted": True})
        typer.echo(f"ferry: {_INTERRUPTED}", err=True)
        raise typer.Exit(130) from None
    if quiet or output == "json":
        # Without a progress display, stderr still says which images failed and why.
        for r in results:
            if r.status == "failed":
                typer.echo(f"ferry: failed: {r.source}: {r.error}", err=True)
    if output == "json":
        _echo_document(results, summary)
    else:
        _print_notes((r.source, r.notes) for r in results)
        typer.echo(
            f"{summary['copied']} copied, {summary['skipped']} skipped, "
            f"{summary['failed']} failed; {summary['bytes_transferred']} bytes sent, "
            f"{summary['bytes_reused']} reused in {summary['wall_seconds']:.2f}s"
        )
    raise typer.Exit(1 if summary["failed"] else 0)


def demo_command(
    size_mb: Annotated[int, typer.Option(help="Approximate size of the sample fleet.")] = 40,
    keep: Annotated[bool, typer.Option(help="Keep the registries running until Ctrl-C.")] = False,
) -> None:
    """Start two loopback registries, fill one with sample images, copy them across."""
    from imageferry.demo import run_demo

    raise typer.Exit(run_demo(size_mb=size_mb, keep=keep))


def register(app: typer.Typer) -> None:
    app.command("copy")(copy_command)
    app.command("demo")(demo_command)
