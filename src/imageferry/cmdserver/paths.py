"""Where the command server listens, and whether a launcher may use it.

The socket name carries a fingerprint of everything the server fixed when it
imported its modules: the interpreter, the installed code (newest source file
and the site-packages directories' change times, so an upgrade or an edit
makes a new server), and the environment variables read at import time
(``PYTHON*``, TLS trust store locations, aiohttp's switch). A launcher whose
fingerprint differs simply finds no server and runs in-process; the old server
exits when idle.

The socket lives in a directory only the user can enter: ``$XDG_RUNTIME_DIR/
imageferry`` or ``$TMPDIR/imageferry-<uid>`` (mode 0700, owned by the user).
When that cannot be ensured, or the path is too long for a Unix socket, the
server is not used at all.
"""

from __future__ import annotations

import os
import stat
import sys
import zlib

__all__ = [
    "IDLE_SECONDS",
    "MAX_SOCKET_PATH",
    "RETRY_FAILED_AFTER",
    "enabled",
    "failure_path",
    "fingerprint",
    "idle_seconds",
    "read_at_import",
    "runtime_dir",
    "socket_path",
]

#: sun_path holds 108 bytes on Linux, 104 elsewhere; leave room for the
#: server's temporary name (see server.Server.bind).
MAX_SOCKET_PATH = 96
#: Seconds an unused server waits for a command before it exits.
IDLE_SECONDS = 600.0

_OFF = frozenset({"0", "off", "false", "no"})
#: Environment variables whose values a server fixed at import time.
_IMPORT_TIME_VARS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "AIOHTTP_NO_EXTENSIONS")
# Paths are plain strings here: pathlib would cost the launcher more to import
# than everything else it does.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def enabled(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """``FERRY_COMMAND_SERVER`` is on unless set to 0/off/false/no."""
    return environ.get("FERRY_COMMAND_SERVER", "on").strip().lower() not in _OFF


def idle_seconds(environ: os._Environ[str] | dict[str, str] = os.environ) -> float:
    """``FERRY_COMMAND_SERVER_IDLE`` seconds, or :data:`IDLE_SECONDS` when unset or invalid."""
    try:
        value = float(environ.get("FERRY_COMMAND_SERVER_IDLE", ""))
    except ValueError:
        return IDLE_SECONDS
    return value if value > 0 else IDLE_SECONDS


def read_at_import(name: str) -> bool:
    """Whether a server's imports read the environment variable ``name``."""
    return name.startswith("PYTHON") or name in _IMPORT_TIME_VARS


def _newest_source(root: str) -> int:
    newest = 0
    pending = [root]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        pending.append(entry.path)
                elif entry.name.endswith(".py"):
                    newest = max(newest, entry.stat().st_mtime_ns)
    return newest


def fingerprint(environ: os._Environ[str] | dict[str, str] = os.environ) -> str:
    """A short hash naming the server this interpreter, code and environment may use."""
    # The interpreter by what it is, not the name it was started by: a venv's
    # ``python`` and ``python3`` are one interpreter (``sys.prefix`` names the venv).
    interpreter = os.path.realpath(sys.executable)
    parts = [
        interpreter,
        sys.prefix,
        sys.version,
        _PACKAGE_ROOT,
        str(_newest_source(_PACKAGE_ROOT)),
    ]
    for entry in sys.path:
        if entry.endswith("-packages"):
            try:
                parts.append(f"{entry}:{os.stat(entry).st_mtime_ns}")
            except OSError:
                continue
    parts += sorted(f"{k}={v}" for k, v in environ.items() if read_at_import(k))
    # A cache key, not a secret or a security boundary (the directory's mode is):
    # CRC-32 twice over costs no import of OpenSSL, unlike hashlib.
    data = "\0".join(parts).encode()
    return f"{zlib.crc32(data):08x}{zlib.crc32(data[::-1]):08x}"


def runtime_dir(environ: os._Environ[str] | dict[str, str] = os.environ) -> str | None:
    """The user's private socket directory, created if missing; None when it is not private."""
    uid = os.getuid()
    base = environ.get("XDG_RUNTIME_DIR")
    path = (
        os.path.join(base, "imageferry")
        if base
        else os.path.join(environ.get("TMPDIR") or "/tmp", f"imageferry-{uid}")
    )
    try:
        if not os.path.isdir(path):
            os.mkdir(path, 0o700)
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o077:
        return None
    return path


def socket_path(environ: os._Environ[str] | dict[str, str] = os.environ) -> str | None:
    """The socket a launcher with this environment may use, or None when there is none."""
    directory = runtime_dir(environ)
    if directory is None:
        return None
    path = os.path.join(directory, f"cmd-{fingerprint(environ)}.sock")
    return path if len(os.fsencode(path)) <= MAX_SOCKET_PATH else None


def failure_path(socket: str) -> str:
    """Where a server that could not listen on ``socket`` leaves its reason.

    While it is there (and younger than :data:`RETRY_FAILED_AFTER`), launchers
    run in-process without starting a server that would fail the same way.
    """
    return socket + ".failed"


#: Seconds after which a recorded failure to listen is tried again.
RETRY_FAILED_AFTER = 3600.0
