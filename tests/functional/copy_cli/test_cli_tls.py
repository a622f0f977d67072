"""``ferry copy`` to and from a registry serving HTTPS with a certificate of the test's own CA.

The CA is trusted the way users trust theirs: ``SSL_CERT_FILE``. Without it the copy
fails at once with one line naming the failure and the flag that skips the check;
with ``--insecure-registry`` it goes through unverified.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stand_ins.images import push_image
from stand_ins.skopeo import inspect_digest
from stand_ins.tls import Certificates, TlsRegistry, issue_certificate

FERRY = str(Path(sys.executable).parent / "ferry")
NAME = "secure.test"  # the TLS registry as references name it: a mirror maps it to 127.0.0.1


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return issue_certificate(tmp_path)


@pytest.fixture
def tls_registry(certificates: Certificates) -> Iterator[TlsRegistry]:
    with TlsRegistry(certificates) as r:
        yield r


def ferry(registry: TlsRegistry, *args: str, ca: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    if ca is not None:
        env["SSL_CERT_FILE"] = str(ca)
    mirror = f"{NAME}=https://{registry.host}"
    return subprocess.run(
        [FERRY, "copy", "--mirror", mirror, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_registry_whose_ca_the_user_trusts_is_pushed_to_and_pulled_from(
    src_registry, dst_registry, tls_registry: TlsRegistry, certificates: Certificates
) -> None:
    image = push_image(src_registry.url, "team/app", "v1")
    ca = certificates.ca
    pushed = ferry(tls_registry, f"{src_registry.host}/team/app:v1", f"{NAME}/team/app:v1", ca=ca)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert inspect_digest(f"{tls_registry.host}/team/app:v1") == image.digest

    pulled = ferry(tls_registry, f"{NAME}/team/app:v1", f"{dst_registry.host}/app:v1", ca=ca)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert inspect_digest(f"{dst_registry.host}/app:v1") == image.digest


def test_an_untrusted_certificate_fails_in_one_line_naming_the_flag(
    src_registry, tls_registry: TlsRegistry
) -> None:
    push_image(src_registry.url, "team/app", "v1")
    refused = ferry(
        tls_registry, f"{src_registry.host}/team/app:v1", f"{NAME}/team/app:v1", ca=None
    )
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    assert "certificate verify failed" in said
    assert f"--insecure-registry {tls_registry.host} skips verification" in said
    assert "Traceback" not in said


def test_insecure_registry_copies_without_verifying(
    src_registry, tls_registry: TlsRegistry
) -> None:
    image = push_image(src_registry.url, "team/app", "v1")
    copied = ferry(
        tls_registry,
        "--insecure-registry",
        tls_registry.host,
        f"{src_registry.host}/team/app:v1",
        f"{NAME}/team/app:v1",
        ca=None,
    )
    assert copied.returncode == 0, copied.stdout + copied.stderr
    assert inspect_digest(f"{tls_registry.host}/team/app:v1") == image.digest
