"""``ferry copy`` as a user runs it: real registries, a real subprocess, skopeo to verify."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from stand_ins.images import (
    push_foreign_layer_image,
    push_image,
    push_index,
    push_large_image,
)
from stand_ins.registry import free_port
from stand_ins.skopeo import inspect_digest

FERRY = str(Path(sys.executable).parent / "ferry")
KEYS = {
    "source",
    "destination",
    "digest",
    "status",
    "bytes_transferred",
    "bytes_reused",
    "seconds",
    "error",
}


def ferry(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FERRY, *args], capture_output=True, text=True, input=stdin, timeout=120)


def tag_exists(url: str, repo: str, tag: str) -> bool:
    r = httpx.head(
        f"{url}/v2/{repo}/manifests/{tag}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    return r.status_code == 200


def test_copy_json_then_skip(src_registry, dst_registry):
    one = push_image(src_registry.url, "team/app", "v1")
    multi = push_index(src_registry.url, "team/multi", "v2", fmt="oci")
    pairs = [
        f"{src_registry.host}/team/app:v1",
        f"{dst_registry.host}/mirror/team/app:v1",
        f"{src_registry.host}/team/multi:v2",
        f"{dst_registry.host}/team/multi:v2",
    ]
    first = ferry("copy", "-o", "json", *pairs)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert [set(i) >= KEYS for i in doc["images"]] == [True, True]
    assert [i["status"] for i in doc["images"]] == ["copied", "copied"]
    assert [i["digest"] for i in doc["images"]] == [one.digest, multi.digest]
    assert doc["summary"]["copied"] == 2 and doc["summary"]["failed"] == 0
    assert doc["images"][0]["bytes_transferred"] > 0
    # An independent client sees the same digests at the destination.
    assert inspect_digest(f"{dst_registry.host}/mirror/team/app:v1") == one.digest
    assert inspect_digest(f"{dst_registry.host}/team/multi:v2") == multi.digest

    again = json.loads(ferry("copy", "-o", "json", *pairs).stdout)
    assert [i["status"] for i in again["images"]] == ["skipped", "skipped"]
    assert again["summary"]["bytes_transferred"] == 0


def test_from_file_with_comments_and_progress_lines(src_registry, dst_registry, tmp_path):
    for tag in ("a", "b", "c"):
        push_image(src_registry.url, "svc", tag, seed=tag)
    listing = tmp_path / "pairs.txt"
    listing.write_text(
        "# images for the nightly mirror\n\n"
        + "".join(
            f"{src_registry.host}/svc:{t}  {dst_registry.host}/svc:{t}  # tag {t}\n" for t in "abc"
        )
    )
    result = ferry("copy", "--from-file", str(listing))
    assert result.returncode == 0, result.stderr
    assert "3 copied, 0 skipped, 0 failed" in result.stdout
    # Not a terminal: one plain line per image on stderr, no bars.
    assert result.stderr.count(" copied ") == 3
    assert all(tag_exists(dst_registry.url, "svc", t) for t in "abc")


def test_dry_run_lists_bytes_and_writes_nothing(src_registry, dst_registry):
    push_image(src_registry.url, "app", "v1", layer_size=4096)
    result = ferry(
        "copy",
        "--dry-run",
        "-o",
        "json",
        f"{src_registry.host}/app:v1",
        f"{dst_registry.host}/app:v1",
    )
    assert result.returncode == 0, result.stderr
    (planned,) = json.loads(result.stdout)["images"]
    assert planned["status"] == "would-copy"
    assert planned["bytes_missing"] >= 2 * 4096
    assert not tag_exists(dst_registry.url, "app", "v1")


def test_malformed_reference_is_one_clear_line_exit_2(dst_registry):
    result = ferry("copy", "Bad_Name:tag", f"{dst_registry.host}/x:1")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "'Bad_Name:tag'" in lines[0] and "path" in lines[0]


def test_odd_number_of_arguments_says_which_has_no_destination():
    result = ferry("copy", "a:1", "b:1", "c:1")
    assert result.returncode == 2
    assert "'c:1'" in result.stderr


def test_missing_tag_fails_and_leaves_no_destination_tag(src_registry, dst_registry):
    push_image(src_registry.url, "app", "v1")
    result = ferry(
        "copy",
        "-o",
        "json",
        f"{src_registry.host}/app:nope",
        f"{dst_registry.host}/app:nope",
        f"{src_registry.host}/app:v1",
        f"{dst_registry.host}/app:v1",
    )
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    failed, copied = doc["images"]
    assert failed["status"] == "failed" and "nope" in failed["error"]
    assert copied["status"] == "copied"  # one failure does not stop the others
    assert not tag_exists(dst_registry.url, "app", "nope")
    assert "ferry: failed:" in result.stderr and "nope" in result.stderr


def test_unreachable_registry_is_reported(dst_registry):
    dead = f"127.0.0.1:{free_port()}"
    result = ferry("copy", "-q", f"{dead}/app:v1", f"{dst_registry.host}/app:v1")
    assert result.returncode == 1
    assert dead in result.stderr
    assert "Traceback" not in result.stderr


def test_auth_failure_then_source_credentials(basic_registry, dst_registry):
    pushed = push_image(basic_registry.url, "private/app", "v1", auth=("alice", "s3cret-pass"))
    src = f"{basic_registry.host}/private/app:v1"
    dst = f"{dst_registry.host}/private/app:v1"
    denied = ferry("copy", "-q", src, dst)
    assert denied.returncode == 1
    assert "credentials" in denied.stderr.lower() or "401" in denied.stderr
    wrong = ferry("copy", "-q", "--src-creds", "alice:not-it", src, dst)
    assert wrong.returncode == 1 and "not-it" not in wrong.stderr + wrong.stdout
    ok = ferry("copy", "--src-creds", "alice:s3cret-pass", src, dst)
    assert ok.returncode == 0, ok.stderr
    assert "s3cret-pass" not in ok.stdout + ok.stderr
    assert inspect_digest(dst) == pushed.digest


def test_platform_filter_says_the_digest_changed(src_registry, dst_registry):
    push_index(src_registry.url, "multi", "v1", platforms=("linux/amd64", "linux/arm64"))
    result = ferry(
        "copy",
        "-o",
        "json",
        "--platform",
        "linux/arm64",
        f"{src_registry.host}/multi:v1",
        f"{dst_registry.host}/multi:v1",
    )
    assert result.returncode == 0, result.stderr
    (image,) = json.loads(result.stdout)["images"]
    assert any("new index" in note for note in image["notes"]), image["notes"]
    raw = json.loads(
        subprocess.run(
            [
                "skopeo",
                "inspect",
                "--raw",
                "--tls-verify=false",
                f"docker://{dst_registry.host}/multi:v1",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert [m["platform"]["architecture"] for m in raw["manifests"]] == ["arm64"]


def test_ctrl_c_says_what_is_left_and_a_rerun_finishes(src_registry, dst_registry):
    pushed = push_large_image(src_registry.url, "big", "v1", layer_size=512 << 20)
    args = [f"{src_registry.host}/big:v1", f"{dst_registry.host}/big:v1"]
    proc = subprocess.Popen(
        [FERRY, "copy", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    # Not a terminal: a log line says the image started, half a gigabyte before it ends.
    assert " start " in proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert out == ""
    assert err.splitlines() == [
        "ferry: interrupted; nothing is left half-tagged, run the same command again to finish"
    ]
    assert not tag_exists(dst_registry.url, "big", "v1")
    again = ferry("copy", "-q", *args)
    assert again.returncode == 0, again.stderr
    assert inspect_digest(args[1]) == pushed.digest


def test_ctrl_c_with_json_output_still_prints_the_images_that_finished(src_registry, dst_registry):
    small = push_image(src_registry.url, "small", "v1")
    push_large_image(src_registry.url, "big", "v1", layer_size=512 << 20)
    pairs = [
        f"{src_registry.host}/small:v1",
        f"{dst_registry.host}/small:v1",
        f"{src_registry.host}/big:v1",
        f"{dst_registry.host}/big:v1",
    ]
    proc = subprocess.Popen(
        [FERRY, "copy", "-o", "json", *pairs],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not tag_exists(dst_registry.url, "small", "v1"):
        assert time.monotonic() < deadline and proc.poll() is None, "small image never arrived"
        time.sleep(0.02)
    # The registry stores the tag before it answers the manifest PUT: give the answer
    # time to reach ferry (on a busy machine, a moment), or the image is rightly
    # reported as not known to have arrived. The big layer takes far longer.
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 130
    doc = json.loads(out)
    assert [(i["destination"], i["status"], i["digest"]) for i in doc["images"]] == [
        (pairs[1], "copied", small.digest)
    ]
    assert doc["summary"]["interrupted"] is True
    assert doc["summary"]["copied"] == 1
    assert err.splitlines()[-1].startswith("ferry: interrupted;")
    assert not tag_exists(dst_registry.url, "big", "v1")


def note_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ferry: note: ")]


def test_notes_are_printed_in_text_mode(src_registry, dst_registry):
    pushed = push_foreign_layer_image(src_registry.url, "win", "v1")
    src, dst = f"{src_registry.host}/win:v1", f"{dst_registry.host}/win:v1"
    left_out = f"ferry: note: {src}: left out non-distributable layer sha256:"
    # Log lines (stderr is not a terminal): the note follows them.
    plain = ferry("copy", src, dst)
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr.splitlines()[-1].startswith(left_out), plain.stderr
    assert inspect_digest(dst) == pushed.digest
    # Quiet: the note is all there is on stderr.
    quiet = ferry("copy", "-q", src, f"{dst_registry.host}/win:quiet")
    assert quiet.returncode == 0, quiet.stderr
    (line,) = quiet.stderr.splitlines()
    assert line.startswith(left_out)
    # JSON carries the notes per image; stderr does not repeat them.
    as_json = ferry("copy", "-o", "json", src, f"{dst_registry.host}/win:json")
    (image,) = json.loads(as_json.stdout)["images"]
    assert [n.startswith("left out non-distributable layer") for n in image["notes"]] == [True]
    assert note_lines(as_json.stderr) == []


def test_dry_run_prints_notes(src_registry, dst_registry):
    push_foreign_layer_image(src_registry.url, "win", "v1")
    src = f"{src_registry.host}/win:v1"
    result = ferry("copy", "--dry-run", src, f"{dst_registry.host}/win:v1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("would copy  ")
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"ferry: note: {src}: left out non-distributable layer sha256:")
    assert not tag_exists(dst_registry.url, "win", "v1")


def test_loopback_host_in_any_case_speaks_plain_http(src_registry, dst_registry):
    pushed = push_image(src_registry.url, "app", "v1")
    src = f"LocalHost:{src_registry.port}/app:v1"
    result = ferry("copy", "-q", src, f"LOCALHOST:{dst_registry.port}/app:v1")
    assert result.returncode == 0, result.stderr
    assert inspect_digest(f"{dst_registry.host}/app:v1") == pushed.digest


def test_https_to_a_plain_http_registry_fails_at_once_with_the_flag_to_use(
    src_registry, dst_registry
):
    pushed = push_image(src_registry.url, "app", "v1")
    # A non-loopback name whose mirror is spelled https:// but serves plain HTTP.
    mirror = ["--mirror", f"registry.example=https://{src_registry.host}"]
    args = ["registry.example/app:v1", f"{dst_registry.host}/app:v1"]
    refused = ferry("copy", "-q", *mirror, *args)
    assert refused.returncode == 1
    (line,) = refused.stderr.splitlines()
    assert line.endswith(
        "TLS handshake failed: wrong version number (the registry may speak plain HTTP: "
        f"add --insecure-registry {src_registry.host})"
    )
    assert "retries" not in line
    assert not tag_exists(dst_registry.url, "app", "v1")
    hinted = ferry("copy", "-q", *mirror, "--insecure-registry", src_registry.host, *args)
    assert hinted.returncode == 0, hinted.stderr
    assert inspect_digest(args[1]) == pushed.digest
