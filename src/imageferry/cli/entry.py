"""The ``ferry`` executable.

Start-up is most of a short ``ferry copy``, so this module imports nothing of its
own: :mod:`imageferry.cli.main` loads only the module of the command being run,
and each command imports its heavy libraries (aiohttp, SQLAlchemy, boto3) when it
runs, not when its ``--help`` is asked for.
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    from imageferry.cli.main import app

    app(prog_name="ferry")
