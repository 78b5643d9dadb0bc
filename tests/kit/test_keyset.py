"""Key sets and the keyring of a rotation: what a new master key keeps, what it changes."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from rujai.kit import keyset
from rujai.kit.crypto import (
    WRAPPED_BYTES,
    DecryptionFailed,
    Keyring,
    open_sealed,
    seal,
    wrapped_by,
)

OLD = bytes(range(32))


def test_a_wrapped_key_names_the_master_key_that_wrapped_it():
    ring = Keyring(OLD)
    wrapped = ring.new_wrapped_data_key()
    assert len(wrapped) == WRAPPED_BYTES
    assert wrapped_by(wrapped) == ring.key_id
    assert ring.key_id not in base64.b64encode(OLD).decode()  # a fingerprint, not the key
    assert len(ring.unwrap(wrapped)) == 32


def test_a_new_master_unwraps_old_and_new_keys_and_keeps_the_index_keys():
    old = Keyring(OLD)
    legacy = seal(old.wrapping, b"k" * 32)  # made before keys carried their master's id
    named = old.new_wrapped_data_key()
    new = keyset.with_new_master(old)
    assert new.key_id != old.key_id
    assert new.previous_ids == (old.key_id,)
    assert new.unwrap(legacy) == b"k" * 32  # tried under the new key, then the old one
    assert new.unwrap(named) == old.unwrap(named)
    assert wrapped_by(new.new_wrapped_data_key()) == new.key_id
    assert new.blind("email", "a@example.com") == old.blind("email", "a@example.com")
    assert new.sign({"a": 1}) == old.sign({"a": 1})
    assert new.hash_evidence("192.0.2.1") == old.hash_evidence("192.0.2.1")
    retired = keyset.without_previous(new)
    assert retired.blind("email", "a@example.com") == old.blind("email", "a@example.com")
    with pytest.raises(DecryptionFailed, match="not loaded"):
        retired.unwrap(named)
    with pytest.raises(DecryptionFailed):
        retired.unwrap(legacy)
    with pytest.raises(DecryptionFailed):
        open_sealed(retired.wrapping, legacy)


def test_key_sets_round_trip_and_a_plain_key_still_loads(tmp_path):
    new = keyset.with_new_master(Keyring(OLD))
    path = tmp_path / "keys" / "master.key"
    keyset.write(path, new)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = keyset.load_keyring(None, path)
    assert (loaded.key_id, loaded.previous_ids) == (new.key_id, new.previous_ids)
    assert loaded.blind_index == new.blind_index
    assert json.loads(path.read_text())["format"] == keyset.FORMAT
    assert keyset.load_keyring(base64.b64encode(OLD).decode(), path).key_id == Keyring(OLD).key_id
    assert keyset.load_keyring(path.read_text(), tmp_path / "absent").key_id == new.key_id
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


@pytest.mark.parametrize(
    "text",
    ["not base64!", base64.b64encode(b"short").decode(), '{"format": "other"}',
     '{"format": "rujai-keyset/1"}', "[1, 2]"],
)  # fmt: skip
def test_a_broken_key_file_is_refused_with_a_reason(text):
    with pytest.raises(keyset.KeysetInvalid):
        keyset.parse(text)
