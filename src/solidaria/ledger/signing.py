"""Ed25519 signatures over checkpoints (signed tree heads).

The signed message is the RFC 8785 form of exactly four fields:
`{"organization": slug, "root_hash": hex, "timestamp": "YYYY-MM-DDTHH:MM:SSZ", "tree_size": n}`.
The signature and the public key travel as standard base64 (with padding) of their raw bytes.
"""

import base64
import binascii
import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from solidaria.ledger.canonical import canonical


def new_private_key() -> bytes:
    """32 fresh random bytes: a raw Ed25519 private key."""
    return Ed25519PrivateKey.generate().private_bytes_raw()


def public_key_of(private_raw: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(private_raw).public_key().public_bytes_raw()


def fingerprint(public_raw: bytes) -> str:
    """Hex SHA-256 of the raw public key: names a key in checkpoints and on pages."""
    return hashlib.sha256(public_raw).hexdigest()


def signed_fields(
    *, organization: str, tree_size: int, root_hash: str, timestamp: str
) -> dict[str, Any]:
    return {
        "organization": organization,
        "tree_size": tree_size,
        "root_hash": root_hash,
        "timestamp": timestamp,
    }


def sign(private_raw: bytes, fields: dict[str, Any]) -> str:
    """Base64 Ed25519 signature over the canonical bytes of the four signed fields."""
    signature = Ed25519PrivateKey.from_private_bytes(private_raw).sign(canonical(fields))
    return base64.b64encode(signature).decode("ascii")


def verify(public_raw: bytes, fields: dict[str, Any], signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, canonical(fields))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
