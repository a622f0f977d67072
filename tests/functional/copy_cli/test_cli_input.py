"""``ferry copy`` refusing bad input up front: exit 2, one line, nothing sent anywhere."""

import base64
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from stand_ins.images import push_image
from stand_ins.skopeo import inspect_digest

FERRY = str(Path(sys.executable).parent / "ferry")


def ferry(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FERRY, *args], capture_output=True, text=True, timeout=120)


def repositories(url: str) -> list[str]:
    listing: list[str] = httpx.get(f"{url}/v2/_catalog").json()["repositories"]
    return listing


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ferry: error: "), lines[0]
    return lines[0]


@pytest.mark.parametrize("tag", ["caf\u00e9", "v\u0661"])
def test_non_ascii_tag_is_refused_before_any_upload(src_registry, dst_registry, tag):
    push_image(src_registry.url, "app", "1.0")
    result = ferry("copy", f"{src_registry.host}/app:1.0", f"{dst_registry.host}/app:{tag}")
    assert result.returncode == 2
    line = error_line(result)
    assert f"tag {tag!r}" in line
    # Refused before any blob crossed: the destination has no repository at all.
    assert repositories(dst_registry.url) == []


def test_from_file_with_bom_and_crlf_copies(src_registry, dst_registry, tmp_path):
    # A Windows editor's file: byte-order mark, CRLF line endings.
    for tag in ("a", "b"):
        push_image(src_registry.url, "svc", tag, seed=tag)
    text = "".join(f"{src_registry.host}/svc:{t} {dst_registry.host}/svc:{t}\r\n" for t in "ab")
    listing = tmp_path / "pairs.txt"
    listing.write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = ferry("copy", "-q", "--from-file", str(listing))
    assert result.returncode == 0, result.stderr
    assert "2 copied, 0 skipped, 0 failed" in result.stdout
    tags = httpx.get(f"{dst_registry.url}/v2/svc/tags/list").json()["tags"]
    assert sorted(tags) == ["a", "b"]


def test_from_file_not_utf8_names_file_and_line(dst_registry, tmp_path):
    listing = tmp_path / "pairs.txt"
    listing.write_bytes(
        f"# mirror list\n# caf\xe9\nlocalhost:1/app:1 {dst_registry.host}/app:1\n".encode("latin-1")
    )
    result = ferry("copy", "--from-file", str(listing))
    assert result.returncode == 2
    line = error_line(result)
    assert f"--from-file {listing}: line 2 is not UTF-8" in line
    assert repositories(dst_registry.url) == []


def test_from_file_bad_reference_names_its_line(src_registry, dst_registry, tmp_path):
    good = f"{src_registry.host}/a:1 {dst_registry.host}/a:1\n"
    listing = tmp_path / "pairs.txt"
    listing.write_text(
        "# header\n" + good * 5 + f"{src_registry.host}/a:1 {dst_registry.host}/Bad:1\n"
    )
    result = ferry("copy", "--from-file", str(listing))
    assert result.returncode == 2
    line = error_line(result)
    assert f"{listing}:7: invalid image reference '{dst_registry.host}/Bad:1': path" in line
    assert repositories(dst_registry.url) == []


def test_missing_authfile_is_refused_before_any_request(src_registry, basic_registry, tmp_path):
    push_image(src_registry.url, "app", "1.0")
    typo = tmp_path / "typo" / "config.json"
    result = ferry(
        "copy",
        "--authfile",
        str(typo),
        f"{src_registry.host}/app:1.0",
        f"{basic_registry.host}/app:1.0",
    )
    assert result.returncode == 2
    assert error_line(result) == (
        f"ferry: error: cannot read --authfile {typo}: No such file or directory"
    )


def test_authfile_that_is_not_json_is_refused(src_registry, dst_registry, tmp_path):
    push_image(src_registry.url, "app", "1.0")
    broken = tmp_path / "config.json"
    broken.write_text('{"auths": ')
    result = ferry(
        "copy",
        "--authfile",
        str(broken),
        f"{src_registry.host}/app:1.0",
        f"{dst_registry.host}/a:1",
    )
    assert result.returncode == 2
    assert error_line(result).startswith(
        f"ferry: error: cannot read --authfile {broken}: not valid"
    )
    assert repositories(dst_registry.url) == []


def test_authfile_credentials_are_used(src_registry, basic_registry, tmp_path):
    pushed = push_image(src_registry.url, "app", "1.0")
    login = base64.b64encode(b"alice:s3cret-pass").decode()
    authfile = tmp_path / "auth.json"
    authfile.write_text(json.dumps({"auths": {basic_registry.host: {"auth": login}}}))
    dst = f"{basic_registry.host}/app:1.0"
    result = ferry("copy", "-q", "--authfile", str(authfile), f"{src_registry.host}/app:1.0", dst)
    assert result.returncode == 0, result.stderr
    assert inspect_digest(dst, creds=("alice", "s3cret-pass")) == pushed.digest
