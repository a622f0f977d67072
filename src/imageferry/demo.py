"""``ferry demo``: two loopback registries, a sample fleet, one copy across, then a re-run.

The demo runs the same code path as ``ferry copy`` (:mod:`imageferry.runner`);
only the registries and images come from :mod:`imageferry.sandbox`.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType

from rich.console import Console

from imageferry.cli.progress import make_progress
from imageferry.reference import Reference
from imageferry.runner import CopyRequest, run_copy
from imageferry.sandbox import INSTALL_HINT, LocalRegistry, SandboxError, missing_tools
from imageferry.sandbox.images import build_fleet
from imageferry.sandbox.skopeo import inspect_digest

__all__ = ["STOP_SIGNALS", "run_demo"]

#: Signals that stop the demo as Ctrl-C does: ``kill``, and a closed terminal.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class _Stop:
    """Which signal stopped the demo; SIGINT until another one arrives."""

    signum: int = signal.SIGINT


@contextmanager
def _stop_like_ctrl_c(stop: _Stop) -> Iterator[None]:
    """Make SIGTERM and SIGHUP do what Ctrl-C does, for the duration.

    Ctrl-C unwinds the ``with`` blocks that stop the registries and remove
    their directories; the other stop signals would end the process on the
    spot and leave both behind. They are passed on as SIGINT, so that whoever
    handles Ctrl-C at that moment handles them: inside ``asyncio.run`` that is
    asyncio, which cancels the copy's tasks and lets them finish cleanly (a
    KeyboardInterrupt raised in the middle of a task would not). Once one has
    arrived, later ones are ignored so that they cannot cut the clean-up short.
    """

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        for other in STOP_SIGNALS:
            signal.signal(other, signal.SIG_IGN)
        stop.signum = signum
        if not callable(signal.getsignal(signal.SIGINT)):
            # SIGINT ignored (started in the background by a shell): no Ctrl-C
            # handler to pass it on to.
            raise KeyboardInterrupt
        signal.raise_signal(signal.SIGINT)

    previous = {signum: signal.signal(signum, interrupt) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_demo(*, size_mb: int = 40, keep: bool = False) -> int:
    """Returns the process exit status: 0 when every image arrived intact.

    1 when an image did not, 2 when a tool the demo runs is not installed,
    128 + the signal's number when a signal stopped it (130 for Ctrl-C).
    """
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    missing = missing_tools()
    if missing:
        console.print(
            f"ferry: error: ferry demo runs {' and '.join(missing)}, not installed here: "
            f"{INSTALL_HINT}",
            markup=False,
        )
        return 2
    stop = _Stop()
    try:
        with _stop_like_ctrl_c(stop):
            return _demo(console, size_mb=size_mb, keep=keep)
    except KeyboardInterrupt:
        _say(console, "ferry: demo stopped; its registries and their files are removed")
        return 128 + stop.signum
    except SandboxError as e:
        _say(console, f"ferry: error: {e}")
        return 1


def _say(console: Console, line: str) -> None:
    # After SIGHUP the terminal may be gone; a message nobody can read is no failure.
    with suppress(OSError):
        console.print(line, markup=False)


def _demo(console: Console, *, size_mb: int, keep: bool) -> int:
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
