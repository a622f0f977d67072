"""The Docker reference grammar, Docker Hub normalisation, and clear errors."""

import pytest

from imageferry.errors import InvalidReference
from imageferry.reference import Reference, is_loopback

D = "sha256:" + "a" * 64

VALID = [
    # text, registry, repository, tag, digest
    ("ubuntu", "docker.io", "library/ubuntu", "latest", None),
    ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", None),
    ("library/ubuntu", "docker.io", "library/ubuntu", "latest", None),
    ("docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", None),
    ("index.docker.io/library/ubuntu:1", "docker.io", "library/ubuntu", "1", None),
    ("registry-1.docker.io/bitnami/redis", "docker.io", "bitnami/redis", "latest", None),
    ("bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2", None),
    ("gcr.io/distroless/static:nonroot", "gcr.io", "distroless/static", "nonroot", None),
    (
        "quay.io/prometheus/node-exporter:v1.8.0",
        "quay.io",
        "prometheus/node-exporter",
        "v1.8.0",
        None,
    ),
    ("ghcr.io/org/team/app__x:1", "ghcr.io", "org/team/app__x", "1", None),
    ("localhost/app", "localhost", "app", "latest", None),
    ("localhost:5000/a/b/c:t", "localhost:5000", "a/b/c", "t", None),
    ("127.0.0.1:5000/x", "127.0.0.1:5000", "x", "latest", None),
    ("[::1]:5000/x:y", "[::1]:5000", "x", "y", None),
    ("[::1]/x", "[::1]", "x", "latest", None),
    (f"x@{D}", "docker.io", "library/x", None, D),
    (f"host:5000/x:tag@{D}", "host:5000", "x", "tag", D),
    (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:v1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "team/app",
        "v1",
        None,
    ),
    (
        "my-registry.example.com/a.b/c-d---e:_tag",
        "my-registry.example.com",
        "a.b/c-d---e",
        "_tag",
        None,
    ),
    ("Registry.Example.com/app", "Registry.Example.com", "app", "latest", None),
    # Kept as written, for display; comparisons ignore case.
    ("LocalHost:5000/app:1", "LocalHost:5000", "app", "1", None),
    ("a" * 50 + ":" + "t" * 128, "docker.io", "library/" + "a" * 50, "t" * 128, None),
]


@pytest.mark.parametrize(("text", "registry", "repository", "tag", "digest"), VALID)
def test_valid_references_parse_and_normalise(text, registry, repository, tag, digest):
    ref = Reference.parse(text)
    assert (ref.registry, ref.repository, ref.tag) == (registry, repository, tag)
    assert (str(ref.digest) if ref.digest else None) == digest
    # The normalised form parses back to the same reference.
    assert Reference.parse(str(ref)) == ref


INVALID = [
    # text, the part the error names
    ("", "reference"),
    (" ubuntu", "reference"),
    ("Ubuntu", "path"),
    ("ubuntu:", "tag"),
    ("ubuntu:-bad", "tag"),
    ("ubuntu:" + "t" * 129, "tag"),
    ("ubuntu@sha256:abc", "digest"),
    ("ubuntu@md5", "digest"),
    ("host:99999/x", "host"),
    ("host:port/x", "host"),
    ("-host.com/x", "host"),
    ("[::1/x", "host"),
    ("[zz::1]:5000/x", "host"),
    ("a//b", "path"),
    ("a/b/", "path"),
    ("x/a..b", "path"),
    ("x/_a", "path"),
    ("host.com/", "path"),
    ("a" * 300, "path"),
    # The grammar is ASCII: Python's Unicode \w and \d must not widen it.
    ("localhost:5000/app:caf\u00e9", "tag"),
    ("localhost:5000/app:v\u0661", "tag"),  # ARABIC-INDIC DIGIT ONE
    ("app:\u00b2", "tag"),  # SUPERSCRIPT TWO
    ("localhost:\u0665\u0660\u0660\u0660/app", "host"),  # Arabic-Indic 5000
    ("[::1]:\u0665/app", "host"),
    ("r\u00e9gistry.example.com/app", "host"),
    ("example.com/caf\u00e9", "path"),
    # A newline inside a part is not hidden by a regex's '$'.
    ("example.com/a\n/b", "path"),
    ("host\n.example.com/x", "host"),
    ("localhost:5000\n/x", "host"),
]


@pytest.mark.parametrize(("text", "part"), INVALID)
def test_invalid_references_name_the_offending_part(text, part):
    with pytest.raises(InvalidReference) as err:
        Reference.parse(text)
    assert err.value.part == part
    assert repr(text) in str(err.value)


def test_manifest_ref_prefers_the_digest():
    assert Reference.parse(f"x:1@{D}").manifest_ref == D
    assert Reference.parse("x:1").manifest_ref == "1"


@pytest.mark.parametrize(
    ("registry", "loopback"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("LocalHost:5000", True),
        ("LOCALHOST", True),
        ("127.0.0.1:5000", True),
        ("127.3.4.5", True),
        ("[::1]:5000", True),
        ("[::1]", True),
        ("10.0.0.1:5000", False),
        ("docker.io", False),
        ("example.com:5000", False),
    ],
)
def test_loopback_detection(registry, loopback):
    assert is_loopback(registry) is loopback
