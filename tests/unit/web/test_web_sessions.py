"""Signed session cookies and CSRF tokens."""

from __future__ import annotations

import stat
from pathlib import Path

from imageferry.web.sessions import SessionCodec, load_or_create_key, tokens_match


def test_round_trip_and_tamper_detection() -> None:
    codec = SessionCodec(b"k" * 32)
    session = codec.new("admin")
    cookie = codec.dumps(session)
    assert codec.loads(cookie) == session
    payload, rest = cookie.split(".", 1)
    # Another user name in the payload, the original signature kept.
    forged = codec.dumps(codec.new("mallory")).split(".", 1)[0] + "." + rest
    assert codec.loads(forged) is None
    assert codec.loads(payload[::-1] + "." + rest) is None
    assert SessionCodec(b"other-key" * 4).loads(cookie) is None
    assert codec.loads("garbage") is None


def test_each_session_gets_its_own_csrf_token() -> None:
    codec = SessionCodec(b"k" * 32)
    a, b = codec.new("admin"), codec.new("admin")
    assert a.csrf != b.csrf and len(a.csrf) >= 32
    assert tokens_match(a.csrf, a.csrf)
    assert not tokens_match(a.csrf, b.csrf)
    assert not tokens_match(a.csrf, None)
    assert not tokens_match(a.csrf, "")


def test_repr_hides_the_csrf_token() -> None:
    session = SessionCodec(b"k" * 32).new("admin")
    assert session.csrf not in repr(session)


def test_expired_sessions_are_refused() -> None:
    codec = SessionCodec(b"k" * 32, max_age=-1)
    assert codec.loads(codec.dumps(codec.new("admin"))) is None


def test_key_is_created_private_once(tmp_path: Path) -> None:
    first = load_or_create_key(tmp_path / "d")
    assert load_or_create_key(tmp_path / "d") == first
    mode = (tmp_path / "d" / "console-session.key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
