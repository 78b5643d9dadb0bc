"""Keys and envelope encryption.

One master key (32 bytes) derives, with HKDF, a key per job: blind index, receipt signing, evidence
hashing and data-key wrapping. Each subject has a random data key, stored only wrapped (AES-GCM
under the wrapping key, prefixed with the master key's id); values are sealed with AES-GCM under
the data key. Destroying the wrapped data key makes every sealed copy unreadable
(crypto-shredding). A new master key re-wraps the data keys only: the blind-index, receipt and
evidence keys of the first master key are carried over (``IndexKeys``, ``rujai.kit.keyset``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptionFailed(Exception):
    """A sealed value could not be opened (wrong key, destroyed key or tampered data)."""


def _derive(master: bytes, purpose: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode())
    return hkdf.derive(master)


WRAP_MAGIC = b"RK\x01"  # a wrapped data key that names the master key that wrapped it
KEY_ID_BYTES = 8
WRAP_HEADER_BYTES = len(WRAP_MAGIC) + KEY_ID_BYTES
LEGACY_WRAPPED_BYTES = NONCE_BYTES + KEY_BYTES + 16  # nonce || key || tag, no header
WRAPPED_BYTES = WRAP_HEADER_BYTES + LEGACY_WRAPPED_BYTES
_INDEX_JOBS = ("blind_index", "receipts", "evidence")


@dataclass(frozen=True)
class IndexKeys:
    """The keys that must outlive a master key: blind index, receipt signing, evidence hashing.

    Blind indexes (identities, suppression entries) and receipt signatures cannot be recomputed
    under a new key (the values behind a suppression entry are gone), so a rotation carries these
    three over (``rujai.kit.keyset``) and re-wraps only the data keys.
    """

    blind_index: bytes = field(repr=False)
    receipts: bytes = field(repr=False)
    evidence: bytes = field(repr=False)

    @classmethod
    def derive(cls, master: bytes) -> IndexKeys:
        """Derive the three keys from a master key (a key set's first generation)."""
        return cls(*(_derive(master, f"rujai/{name}/v1") for name in _INDEX_JOBS))


def key_id(master: bytes) -> str:
    """Return a master key's public fingerprint (16 hex digits; reveals nothing of the key)."""
    return _derive(master, "rujai/key-id/v1")[:KEY_ID_BYTES].hex()


@dataclass(frozen=True)
class Keyring:
    """Keys derived from the master key, one per job, and the old master keys of a rotation.

    ``master`` wraps every new data key; ``previous`` master keys only unwrap, while a rotation
    (``rujai keys rotate-master``) re-wraps what they wrapped. A wrapped key starts with the id of
    the master key that wrapped it (``WRAP_MAGIC`` + 8 bytes); one without (made before ids) is
    tried under the current key, then the previous ones. ``index`` holds the keys carried over
    from the first master key (None: derived from ``master``).
    """

    master: bytes = field(repr=False)
    previous: tuple[bytes, ...] = field(default=(), repr=False)
    index: IndexKeys | None = field(default=None, repr=False)
    blind_index: bytes = field(init=False, repr=False)
    receipts: bytes = field(init=False, repr=False)
    evidence: bytes = field(init=False, repr=False)
    wrapping: bytes = field(init=False, repr=False)
    key_id: str = field(init=False)
    _unwrapping: tuple[tuple[str, bytes], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for key in (self.master, *self.previous):
            if len(key) != KEY_BYTES:
                raise ValueError("master key must be 32 bytes")
        index = self.index or IndexKeys.derive(self.master)
        for name in _INDEX_JOBS:
            object.__setattr__(self, name, getattr(index, name))
        unwrapping = tuple((key_id(m), _wrapping(m)) for m in (self.master, *self.previous))
        object.__setattr__(self, "_unwrapping", unwrapping)
        object.__setattr__(self, "key_id", unwrapping[0][0])
        object.__setattr__(self, "wrapping", unwrapping[0][1])

    @property
    def index_keys(self) -> IndexKeys:
        """The keys a rotation carries over (``index``, or those derived from ``master``)."""
        return IndexKeys(self.blind_index, self.receipts, self.evidence)

    @property
    def previous_ids(self) -> tuple[str, ...]:
        """The ids of the previous master keys, in order."""
        return tuple(named for named, _key in self._unwrapping[1:])

    @property
    def wrap_header(self) -> bytes:
        """The first bytes of every data key wrapped under the current master key."""
        return WRAP_MAGIC + bytes.fromhex(self.key_id)

    def blind(self, kind: str, value: str) -> str:
        """Return the keyed blind index (HMAC-SHA256, hex) of a normalised identifier."""
        msg = f"{kind}\x00{value}".encode()
        return hmac.new(self.blind_index, msg, hashlib.sha256).hexdigest()

    def hash_evidence(self, value: str) -> str:
        """Return a keyed hash of evidence such as an IP address or user agent."""
        return hmac.new(self.evidence, value.encode(), hashlib.sha256).hexdigest()

    def sign(self, payload: dict[str, Any]) -> str:
        """Return the HMAC-SHA256 signature (hex) of a JSON payload in canonical form."""
        return hmac.new(self.receipts, canonical_json(payload), hashlib.sha256).hexdigest()

    def recipient_key(self, recipient: str) -> bytes:
        """Return the signing key shared with one recipient only (its webhook notices).

        Derived from the receipt key, so it survives a master-key rotation; a recipient holding
        it can check rujai's notices to it but cannot forge consent receipts or another
        recipient's notices.
        """
        return hmac.new(
            self.receipts, f"recipient\x00{recipient}".encode(), hashlib.sha256
        ).digest()

    def sign_for(self, recipient: str, payload: dict[str, Any]) -> str:
        """Return the HMAC-SHA256 signature (hex) of a payload under ``recipient_key``."""
        key = self.recipient_key(recipient)
        return hmac.new(key, canonical_json(payload), hashlib.sha256).hexdigest()

    def verify(self, payload: dict[str, Any], signature: str) -> bool:
        """Check a signature made by ``sign`` in constant time."""
        return hmac.compare_digest(self.sign(payload), signature)

    def new_wrapped_data_key(self) -> bytes:
        """Make a random data key and return it wrapped under the current master key."""
        return self.wrap(secrets.token_bytes(KEY_BYTES))

    def wrap(self, data_key: bytes) -> bytes:
        """Wrap a raw data key under the current master key, prefixed with the key's id."""
        header = self.wrap_header
        return header + seal(self.wrapping, data_key, header)

    def unwrap(self, wrapped: bytes) -> bytes:
        """Return the raw data key inside ``wrapped``, under whichever master key wrapped it."""
        named = wrapped_by(wrapped)
        if named is None:  # made before ids: the current key first, then the old ones
            for _id, key in self._unwrapping:
                with suppress(DecryptionFailed):
                    return open_sealed(key, wrapped)
            raise DecryptionFailed("sealed value cannot be opened")
        for candidate, key in self._unwrapping:
            if candidate == named:
                return open_sealed(key, wrapped[WRAP_HEADER_BYTES:], wrapped[:WRAP_HEADER_BYTES])
        raise DecryptionFailed(f"wrapped under master key {named}, which is not loaded")


def _wrapping(master: bytes) -> bytes:
    return _derive(master, "rujai/wrapping/v1")


def wrapped_by(wrapped: bytes) -> str | None:
    """Return the id of the master key a wrapped data key names; None if it names none."""
    if len(wrapped) == WRAPPED_BYTES and wrapped.startswith(WRAP_MAGIC):
        return wrapped[len(WRAP_MAGIC) : WRAP_HEADER_BYTES].hex()
    return None


def seal(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """Encrypt with AES-GCM; the result is nonce || ciphertext || tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad or None)


def open_sealed(key: bytes, sealed: bytes, aad: bytes = b"") -> bytes:
    """Decrypt a value made by ``seal``; raise DecryptionFailed if it cannot be opened."""
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad or None)
    except (InvalidTag, ValueError) as e:
        raise DecryptionFailed("sealed value cannot be opened") from e


def canonical_json(payload: Any) -> bytes:
    """Serialise JSON deterministically (sorted keys, no spaces, UTF-8)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes | str) -> str:
    """Return the SHA-256 of ``data`` as hex."""
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def decode_key(text: str) -> bytes:
    """Decode a base64 master key; raise ValueError unless it is 32 bytes."""
    key = base64.b64decode(text, validate=True)
    if len(key) != KEY_BYTES:
        raise ValueError("master key must decode to 32 bytes")
    return key


def create_master_key_file(path: Path) -> bool:
    """Create a new master key file with mode 0600 unless one exists; return True if created."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
    return True
