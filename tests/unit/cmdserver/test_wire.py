import os
import socket
import struct

import pytest

from imageferry.cmdserver import wire


def test_message_round_trip_with_descriptors() -> None:
    left, right = socket.socketpair()
    read_end, write_end = os.pipe()
    try:
        wire.send(left, {"argv": ["copy", "a b"], "env": {"K": "v" * 100_000}}, fds=[write_end])
        message, fds = wire.receive(right, max_fds=3)
        assert message == {"argv": ["copy", "a b"], "env": {"K": "v" * 100_000}}
        assert len(fds) == 1
        os.write(fds[0], b"through the passed descriptor")
        os.close(fds[0])
        assert os.read(read_end, 100) == b"through the passed descriptor"
    finally:
        for fd in (read_end, write_end):
            os.close(fd)
        left.close()
        right.close()


def test_closed_connection_and_garbage_are_protocol_errors() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(struct.pack("!I", 3) + b"[1]")
        with pytest.raises(wire.ProtocolError, match="JSON object"):
            wire.receive(right)
        left.sendall(struct.pack("!I", wire.MAX_MESSAGE + 1))
        with pytest.raises(wire.ProtocolError, match="too large"):
            wire.receive(right)
    a, b = socket.socketpair()
    with a, b:
        a.close()
        with pytest.raises(wire.ProtocolError, match="closed"):
            wire.receive(b)
