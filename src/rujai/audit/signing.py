"""The audit signing key: Ed25519, kept in a file outside the database (TH-SEC-01).

Whoever can write to the database can rewrite the hash chain and recompute every hash; they cannot
sign a head without this key. The private key is a PKCS#8 PEM file created with mode 0600 on first
use; the public key (``public_key_pem``) is what an auditor needs to check checkpoints and receipts.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from rujai.audit.detail import utc
from rujai.audit.schemas import SignedHead
from rujai.kit.crypto import canonical_json, sha256_hex

KEY_ID_CHARS = 16


class Signer:
    """Signs audit heads with the private key; holds it, so it is a class (STYLE §2)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id_of(self.public_key)

    def sign_head(self, *, seq: int, chain_hash: str, at: datetime) -> SignedHead:
        """Return the signed head of the chain at ``seq`` (whose entry hash is ``chain_hash``)."""
        unsigned = SignedHead(
            seq=seq, hash=chain_hash, at=utc(at), key_id=self.key_id, signature=""
        )
        signature = self._private.sign(canonical_json(unsigned.payload()))
        return unsigned.model_copy(update={"signature": base64.b64encode(signature).decode()})


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """Return the key's id: the first 16 hex digits of the SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256_hex(raw)[:KEY_ID_CHARS]


def head_signature_ok(head: SignedHead, public_key: Ed25519PublicKey) -> bool:
    """Return True when ``head`` was signed by the private half of ``public_key``."""
    if head.key_id != key_id_of(public_key):
        return False
    try:
        signature = base64.b64decode(head.signature, validate=True)
        public_key.verify(signature, canonical_json(head.payload()))
    except (InvalidSignature, ValueError):
        return False
    return True


def load_or_create_signer(path: Path) -> Signer:
    """Load the signing key from ``path``, creating it (mode 0600) if it does not exist yet."""
    if not path.exists():
        _create_key_file(path)
    return Signer(_load_private(path))


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read a public key PEM, or derive the public key from a private key file."""
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        return _load_private(path).public_key()
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} does not hold an Ed25519 public key")
    return key


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    """Return the public key as a SubjectPublicKeyInfo PEM, for auditors."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _load_private(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def _create_key_file(path: Path) -> None:
    """Write a new key next to ``path`` and link it into place: two creators never both win."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(temp, path)  # fails if another process created the key first; theirs wins
    except FileExistsError:
        pass
    finally:
        temp.unlink(missing_ok=True)
