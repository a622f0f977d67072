"""Reading ``ferry copy --from-file``: encodings, line endings, and errors that name the line."""

import io
import sys
from pathlib import Path

import pytest

from imageferry.cli.copy import ListedPair, parse_pairs_file, read_pairs_file
from imageferry.errors import ConfigError


def test_pairs_carry_file_and_line():
    text = "# header\n\na:1 b:1  # trailing comment\r\n  c:1\td:1\r\n"
    assert parse_pairs_file(text, "list.txt") == [
        ListedPair("a:1", "b:1", "list.txt:3"),
        ListedPair("c:1", "d:1", "list.txt:4"),
    ]


def test_wrong_field_count_names_file_and_line():
    with pytest.raises(ConfigError, match=r"^list\.txt:2: expected 'SOURCE DESTINATION', got 3"):
        parse_pairs_file("a:1 b:1\na:1 b:1 c:1\n", "list.txt")


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"\xef\xbb\xbfa:1 b:1\n", "a:1 b:1\n"),  # a byte-order mark is dropped
        (b"a:1 b:1\r\n", "a:1 b:1\r\n"),
        ("# caf\u00e9\n".encode(), "# caf\u00e9\n"),
    ],
)
def test_read_decodes_utf8(tmp_path: Path, data: bytes, text: str):
    path = tmp_path / "pairs.txt"
    path.write_bytes(data)
    assert read_pairs_file(path) == (str(path), text)


def test_read_refuses_other_encodings_naming_the_line(tmp_path: Path):
    path = tmp_path / "pairs.txt"
    path.write_bytes("a:1 b:1\n# caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        read_pairs_file(path)
    assert str(err.value) == (
        f"cannot read --from-file {path}: line 2 is not UTF-8 (byte 0xe9); save the file as UTF-8"
    )


def test_read_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"cannot read --from-file .*: No such file"):
        read_pairs_file(tmp_path / "absent.txt")


def test_read_stdin_takes_bytes_not_the_locale(monkeypatch: pytest.MonkeyPatch):
    # Decoded as UTF-8 whatever the terminal's locale: the file's bytes are what count.
    stdin = io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbfa:1 b:1\n"), encoding="latin-1")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert read_pairs_file(Path("-")) == ("<stdin>", "a:1 b:1\n")
