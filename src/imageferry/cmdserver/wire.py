"""Messages between launcher, server and worker: 4-byte length, then JSON.

A message may carry file descriptors (``SCM_RIGHTS``, unix(7)): the launcher
sends its stdin, stdout and stderr with the request so the worker writes to
the user's terminal or pipe directly, and progress bars, colours and
``isatty`` behave as in-process.
"""

from __future__ import annotations

import json
import socket
import struct

# Annotations only: importing typing would add to the launcher's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = ["MAX_MESSAGE", "ProtocolError", "receive", "send"]

#: Refuse messages larger than this (an environment is a few kilobytes).
MAX_MESSAGE = 4 << 20
_HEADER = struct.Struct("!I")


class ProtocolError(Exception):
    """The peer closed the connection or sent something that is not a message."""


def send(sock: socket.socket, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
    data = json.dumps(message, separators=(",", ":")).encode()
    payload = _HEADER.pack(len(data)) + data
    if fds:
        sent = socket.send_fds(sock, [payload], list(fds))
        payload = payload[sent:]
    if payload:
        sock.sendall(payload)


def _exactly(sock: socket.socket, size: int, start: bytes) -> bytes:
    buffer = bytearray(start)
    while len(buffer) < size:
        chunk = sock.recv(size - len(buffer))
        if not chunk:
            raise ProtocolError("connection closed mid-message")
        buffer += chunk
    return bytes(buffer)


def receive(sock: socket.socket, max_fds: int = 0) -> tuple[dict[str, Any], list[int]]:
    """One message and the descriptors that came with it (the caller owns them)."""
    if max_fds:
        data, fds, _flags, _addr = socket.recv_fds(sock, _HEADER.size, max_fds)
    else:
        data, fds = sock.recv(_HEADER.size), []
    if not data:
        raise ProtocolError("connection closed")
    header = _exactly(sock, _HEADER.size, data)
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE:
        raise ProtocolError(f"message of {size} bytes is too large")
    body = _exactly(sock, size, b"")
    try:
        message = json.loads(body)
    except ValueError as e:
        raise ProtocolError(f"not JSON: {e}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message is a JSON object")
    return message, list(fds)
