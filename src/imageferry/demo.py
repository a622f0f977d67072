"""``ferry demo``: two loopback registries, a sample fleet, one copy across, then a re-run.

The demo runs the same code path as ``ferry copy`` (:mod:`imageferry.runner`);
only the registries and images come from :mod:`imageferry.sandbox`.
"""

from __future__ import annotations

import asyncio
import time

from rich.console import Console

from imageferry.cli.progress import make_progress
from imageferry.reference import Reference
from imageferry.runner import CopyRequest, run_copy
from imageferry.sandbox import LocalRegistry
from imageferry.sandbox.images import build_fleet
from imageferry.sandbox.skopeo import inspect_digest

__all__ = ["run_demo"]


def run_demo(*, size_mb: int = 40, keep: bool = False) -> int:
    """Returns the process exit status: 0 when every image arrived intact."""
    console = Console(stderr=True)
    with LocalRegistry() as source, LocalRegistry() as destination:
        console.print(f"source registry      http://{source.host}")
        console.print(f"destination registry http://{destination.host}")
        started = time.monotonic()
        refs = build_fleet(source.url, total_mb=size_mb)
        console.print(
            f"built {len(refs)} sample images (~{size_mb} MB) in the source "
            f"in {time.monotonic() - started:.1f}s; copying with `ferry copy` ..."
        )
        pairs = [
            (Reference.parse(f"{source.host}/{r}"), Reference.parse(f"{destination.host}/{r}"))
            for r in refs
        ]
        request = CopyRequest.build(pairs=pairs)
        results, summary = asyncio.run(run_copy(request, make_progress(quiet=False)))
        console.print(
            f"[bold]first run[/]: {summary['copied']} copied, {summary['failed']} failed, "
            f"{summary['bytes_transferred'] / 1e6:.1f} MB sent, "
            f"{summary['bytes_reused'] / 1e6:.1f} MB reused, {summary['wall_seconds']:.2f}s"
        )
        _, again = asyncio.run(run_copy(request, None))
        console.print(
            f"[bold]second run[/] (nothing changed): {again['skipped']} skipped, "
            f"{again['copied']} copied, {again['wall_seconds']:.2f}s"
        )
        mismatched = [
            r.source
            for r in results
            if r.status != "failed" and inspect_digest(r.destination) != r.digest
        ]
        if mismatched:
            console.print(f"[red]skopeo sees different digests for: {', '.join(mismatched)}")
        else:
            console.print("skopeo confirms every destination digest equals the source digest")
        if keep:
            console.print("registries stay up; press Ctrl-C to stop")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return 1 if summary["failed"] or again["failed"] or mismatched else 0
