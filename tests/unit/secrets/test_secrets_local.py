import multiprocessing
import stat
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from imageferry.secrets import LocalSecretStore, SecretNotFound, SecretStoreError

PLAINTEXT = "pl41ntext-Pa55word-that-must-not-leak"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_put_get_list_delete_round_trip(tmp_path: Path) -> None:
    store = LocalSecretStore(tmp_path)
    assert store.list() == []
    store.put("hub", {"username": "bob", "password": PLAINTEXT})
    store.put("ecr/prod", {"access_key_id": "AKIA1", "secret_access_key": "sk"})
    assert store.get("hub") == {"username": "bob", "password": PLAINTEXT}
    assert store.list() == ["ecr/prod", "hub"]

    store.put("hub", {"username": "bob", "password": "rotated"})
    assert store.get("hub")["password"] == "rotated"

    store.delete("hub")
    assert store.list() == ["ecr/prod"]
    with pytest.raises(SecretNotFound, match="ferry secret put hub"):
        store.get("hub")
    with pytest.raises(SecretNotFound):
        store.delete("hub")


def test_a_second_store_on_the_same_directory_sees_the_secrets(tmp_path: Path) -> None:
    LocalSecretStore(tmp_path).put("hub", {"username": "bob", "password": "p"})
    assert LocalSecretStore(tmp_path).get("hub") == {"username": "bob", "password": "p"}


def test_files_are_private(tmp_path: Path) -> None:
    store = LocalSecretStore(tmp_path)
    store.put("hub", {"username": "bob", "password": PLAINTEXT})
    assert _mode(store.directory) == 0o700
    files = sorted(store.directory.iterdir())
    assert {f.name for f in files} >= {"fernet.key", "store.fernet"}
    for f in files:
        assert _mode(f) == 0o600, f


def test_an_existing_open_directory_is_tightened(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir(mode=0o755)
    (tmp_path / "secrets").chmod(0o755)
    LocalSecretStore(tmp_path).put("hub", {"username": "bob", "password": "p"})
    assert _mode(tmp_path / "secrets") == 0o700


def test_values_are_encrypted_at_rest(tmp_path: Path) -> None:
    store = LocalSecretStore(tmp_path)
    store.put("hub", {"username": "some-user-name", "password": PLAINTEXT})
    for f in store.directory.iterdir():
        data = f.read_bytes()
        assert PLAINTEXT.encode() not in data
        assert b"some-user-name" not in data
    assert not list(store.directory.glob(".*.*")), "temporary files left behind"


def test_repr_names_the_directory_only(tmp_path: Path) -> None:
    store = LocalSecretStore(tmp_path)
    store.put("hub", {"username": "bob", "password": PLAINTEXT})
    assert PLAINTEXT not in repr(store)


def test_a_replaced_key_is_reported_not_ignored(tmp_path: Path) -> None:
    store = LocalSecretStore(tmp_path)
    store.put("hub", {"username": "bob", "password": "p"})
    from cryptography.fernet import Fernet

    (store.directory / "fernet.key").write_bytes(Fernet.generate_key())
    with pytest.raises(SecretStoreError, match="key does not match"):
        store.get("hub")


def test_a_missing_key_is_reported(tmp_path: Path) -> None:
    store = LocalSecretStore(tmp_path)
    store.put("hub", {"username": "bob", "password": "p"})
    (store.directory / "fernet.key").unlink()
    with pytest.raises(SecretStoreError, match="missing"):
        store.list()


def test_concurrent_threads_lose_no_secret(tmp_path: Path) -> None:
    def writer(worker: int) -> None:
        store = LocalSecretStore(tmp_path)
        for i in range(15):
            store.put(f"t{worker}-{i}", {"username": f"u{worker}", "password": str(i)})

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store = LocalSecretStore(tmp_path)
    assert len(store.list()) == 6 * 15
    assert store.get("t5-14") == {"username": "u5", "password": "14"}


def _process_writer(args: tuple[str, int]) -> None:
    data_dir, worker = args
    store = LocalSecretStore(Path(data_dir))
    for i in range(10):
        store.put(f"p{worker}-{i}", {"username": f"u{worker}", "password": str(i)})


def test_concurrent_processes_lose_no_secret(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=4, mp_context=context) as pool:
        list(pool.map(_process_writer, [(str(tmp_path), w) for w in range(4)]))
    names = LocalSecretStore(tmp_path).list()
    assert sorted(names) == sorted(f"p{w}-{i}" for w in range(4) for i in range(10))
