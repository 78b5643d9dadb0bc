"""Keys and envelope encryption.

One master key (32 bytes) derives, with HKDF, a key per job: blind index, receipt signing, evidence
hashing and data-key wrapping. Each subject has a random data key, stored only wrapped (AES-GCM
under the wrapping key); values are sealed with AES-GCM under the data key. Destroying the wrapped
data key makes every sealed copy unreadable (crypto-shredding).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
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


@dataclass(frozen=True)
class Keyring:
    """Keys derived from the master key, one per job."""

    master: bytes = field(repr=False)
    blind_index: bytes = field(init=False, repr=False)
    receipts: bytes = field(init=False, repr=False)
    evidence: bytes = field(init=False, repr=False)
    wrapping: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.master) != KEY_BYTES:
            raise ValueError("master key must be 32 bytes")
        for name in ("blind_index", "receipts", "evidence", "wrapping"):
            object.__setattr__(self, name, _derive(self.master, f"rujai/{name}/v1"))

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

    def verify(self, payload: dict[str, Any], signature: str) -> bool:
        """Check a signature made by ``sign`` in constant time."""
        return hmac.compare_digest(self.sign(payload), signature)

    def new_wrapped_data_key(self) -> bytes:
        """Make a random data key and return it wrapped under the wrapping key."""
        return seal(self.wrapping, secrets.token_bytes(KEY_BYTES))

    def unwrap(self, wrapped: bytes) -> bytes:
        """Return the raw data key inside ``wrapped``."""
        return open_sealed(self.wrapping, wrapped)


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


def load_master_key(inline: str | None, path: Path) -> bytes:
    """Read the master key from the inline base64 value, else from ``path``."""
    text = inline if inline else path.read_text().strip()
    key = base64.b64decode(text)
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
