"""Key sets: the master key, the old ones of a rotation and the keys carried over, in one file.

A fresh installation's key file holds one base64 master key (``create_master_key_file``). After
``rujai keys new-master`` it holds a *key set*, a JSON object::

    {"format": "rujai-keyset/1",
     "master": "<base64>",                  the current master key: wraps every new data key
     "previous": ["<base64>"],              old master keys: unwrap only, until retired
     "index": {"blind_index": "<base64>", "receipts": "<base64>", "evidence": "<base64>"}}

``index`` carries the blind-index, receipt and evidence keys of the first master key: blind
indexes and suppression entries cannot be recomputed (the values are gone), receipts already
issued must keep verifying. The same text may be given inline (``RUJAI_SECURITY__MASTER_KEY``).
The file is written whole or not at all (a temporary file, fsync, rename) with mode 0600.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from pathlib import Path
from typing import Any

from rujai.kit.crypto import KEY_BYTES, IndexKeys, Keyring, decode_key

FORMAT = "rujai-keyset/1"


class KeysetInvalid(ValueError):
    """A key file or inline key that is neither a base64 key nor a valid key set."""


def parse(text: str) -> Keyring:
    """Return the keyring a key file's text describes (a base64 key or a key set)."""
    stripped = text.strip()
    try:
        if not stripped.startswith("{"):
            return Keyring(decode_key(stripped))
        data = json.loads(stripped)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise KeysetInvalid(f"a key set must be a JSON object with format {FORMAT!r}")
        return Keyring(
            decode_key(data["master"]),
            tuple(decode_key(old) for old in data.get("previous", [])),
            _index(data.get("index")),
        )
    except (binascii.Error, KeyError, TypeError, ValueError) as e:
        if isinstance(e, KeysetInvalid):
            raise
        raise KeysetInvalid(f"the master key is not a base64 key or a key set: {e}") from None


def _index(data: Any) -> IndexKeys | None:
    if data is None:
        return None
    return IndexKeys(*(decode_key(data[name]) for name in ("blind_index", "receipts", "evidence")))


def dumps(keyring: Keyring) -> str:
    """Return the key set text of ``keyring`` (its index keys always written out)."""
    index = keyring.index_keys

    def b64(key: bytes) -> str:
        return base64.b64encode(key).decode()

    data = {
        "format": FORMAT,
        "master": b64(keyring.master),
        "previous": [b64(old) for old in keyring.previous],
        "index": {
            "blind_index": b64(index.blind_index),
            "receipts": b64(index.receipts),
            "evidence": b64(index.evidence),
        },
    }
    return json.dumps(data, indent=1) + "\n"


def load_keyring(inline: str | None, path: Path) -> Keyring:
    """Read the keyring from the inline value when set, else from ``path``."""
    return parse(inline if inline else path.read_text())


def with_new_master(keyring: Keyring) -> Keyring:
    """A keyring with a fresh master key; the current one becomes previous (unwrap only)."""
    return Keyring(
        secrets.token_bytes(KEY_BYTES),
        (keyring.master, *keyring.previous),
        keyring.index_keys,
    )


def without_previous(keyring: Keyring) -> Keyring:
    """The same keyring without its old master keys (they are destroyed with the old file)."""
    return Keyring(keyring.master, (), keyring.index_keys)


def write(path: Path, keyring: Keyring) -> None:
    """Replace ``path`` with the key set of ``keyring``: mode 0600, whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(dumps(keyring))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
