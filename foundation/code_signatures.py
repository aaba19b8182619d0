"""Signatures of deployment packages: made by ``stepline sign`` with a private key that never leaves
the signer, checked against a signing profile's public key or X.509 certificate.

The format (docs/functions.md, Code signing): a signed package is the unsigned zip with a signature
block as its archive comment (a zip reader ignores it; the package unpacks as before)::

    STEPLINE-SIGNATURE-1 <base64url of a JSON object>
    {"profile": "<signing profile version ARN>", "sha256": "<hex SHA-256 of the unsigned zip>",
     "signedAt": "<ISO 8601 UTC>", "expiresAt": "<ISO 8601 UTC>", "algorithm": "<see ALGORITHMS>",
     "signature": "<base64 signature of MESSAGE>"}

where the unsigned zip is the package with its comment removed (comment length 0) and the signed
message is ``"stepline-code-signature-1\\n" + sha256 + "\\n" + profile + "\\n" + signedAt + "\\n" +
expiresAt + "\\n"`` in UTF-8. Keys: Ed25519, ECDSA P-256 (SHA-256) or RSA of 2048 bits or more
(PKCS #1 v1.5, SHA-256), as PEM (PKCS #8 or traditional; an encrypted one with its passphrase).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

MAGIC = b"STEPLINE-SIGNATURE-1 "
MESSAGE_PREFIX = "stepline-code-signature-1"
ALGORITHMS = ("ed25519", "ecdsa-p256-sha256", "rsa-pkcs1v15-sha256")
MIN_RSA_BITS = 2048
_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class SignatureFormatError(ValueError):
    """Key material or a package that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Signature:
    profile: str
    sha256: str
    signed_at: datetime
    expires_at: datetime
    algorithm: str
    signature: bytes

    def message(self) -> bytes:
        return (
            f"{MESSAGE_PREFIX}\n{self.sha256}\n{self.profile}\n{_iso(self.signed_at)}\n{_iso(self.expires_at)}\n"
        ).encode()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _end_record(package: bytes) -> int:
    """Where the zip's end-of-central-directory record starts (its comment runs to the end)."""
    for at in range(len(package) - _EOCD_SIZE, max(len(package) - _EOCD_SIZE - 65535, 0) - 1, -1):
        if package[at : at + 4] == _EOCD:
            (length,) = struct.unpack("<H", package[at + 20 : at + 22])
            if at + _EOCD_SIZE + length == len(package):
                return at
    raise SignatureFormatError("not a zip archive (no end of central directory record)")


def split(package: bytes) -> tuple[bytes, bytes]:
    """(the package without its comment, the comment)."""
    at = _end_record(package)
    unsigned = package[: at + 20] + b"\0\0"
    return unsigned, package[at + _EOCD_SIZE :]


def with_comment(unsigned: bytes, comment: bytes) -> bytes:
    at = _end_record(unsigned)
    if len(comment) > 65535:
        raise SignatureFormatError("the signature block is over a zip comment's 65,535 bytes")
    return unsigned[: at + 20] + struct.pack("<H", len(comment)) + comment


def read_signature(package: bytes) -> tuple[Signature | None, str]:
    """The package's signature (None when it has none) and the SHA-256 of its unsigned form."""
    unsigned, comment = split(package)
    digest = hashlib.sha256(unsigned).hexdigest()
    if not comment.startswith(MAGIC):
        return None, digest
    try:
        document: Any = json.loads(base64.urlsafe_b64decode(comment[len(MAGIC) :]))
        signature = Signature(
            profile=str(document["profile"]), sha256=str(document["sha256"]),
            signed_at=datetime.fromisoformat(document["signedAt"]),
            expires_at=datetime.fromisoformat(document["expiresAt"]), algorithm=str(document["algorithm"]),
            signature=base64.b64decode(document["signature"], validate=True),
        )  # fmt: skip
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise SignatureFormatError("the package's signature block cannot be read") from None
    if signature.signed_at.tzinfo is None or signature.expires_at.tzinfo is None:
        raise SignatureFormatError("the package's signature block has times without a time zone")
    return signature, digest


def load_private_key(pem: bytes, passphrase: bytes | None = None) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SignatureFormatError(f"not a usable PEM private key: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise SignatureFormatError("the key must be Ed25519, ECDSA P-256 or RSA")
    _check_key(key.public_key())
    return key


def _check_key(key: PublicKey) -> None:
    if isinstance(key, ec.EllipticCurvePublicKey) and not isinstance(key.curve, ec.SECP256R1):
        raise SignatureFormatError("ECDSA keys must be on the P-256 curve")
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise SignatureFormatError(f"RSA keys must have at least {MIN_RSA_BITS} bits")


def _algorithm(key: PublicKey) -> str:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    return "ecdsa-p256-sha256" if isinstance(key, ec.EllipticCurvePublicKey) else "rsa-pkcs1v15-sha256"


def sign(
    package: bytes, key: PrivateKey, profile: str, *, validity: timedelta, now: datetime | None = None
) -> bytes:
    """The package signed by ``key`` for ``profile`` (a signing profile version ARN)."""
    unsigned, _ = split(package)
    signed_at = (now or datetime.now(UTC)).replace(microsecond=0)
    draft = Signature(
        profile, hashlib.sha256(unsigned).hexdigest(), signed_at, signed_at + validity,
        _algorithm(key.public_key()), b"",
    )  # fmt: skip
    message = draft.message()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.sign(message)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        raw = key.sign(message, ec.ECDSA(hashes.SHA256()))
    else:
        raw = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    document = {
        "profile": profile, "sha256": draft.sha256, "signedAt": _iso(signed_at),
        "expiresAt": _iso(draft.expires_at), "algorithm": draft.algorithm,
        "signature": base64.b64encode(raw).decode(),
    }  # fmt: skip
    return with_comment(unsigned, MAGIC + base64.urlsafe_b64encode(json.dumps(document).encode()))


@dataclass(frozen=True, slots=True)
class Trusted:
    """A signing profile's public material: its key, and a certificate's validity when it is one."""

    key: PublicKey
    not_before: datetime | None = None
    not_after: datetime | None = None


def load_public_material(pem: str) -> Trusted:
    """A PEM public key or X.509 certificate (``SignatureFormatError`` if it is neither usable)."""
    data = pem.encode()
    bounds: tuple[datetime | None, datetime | None] = (None, None)
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            certificate = x509.load_pem_x509_certificate(data)
            key = certificate.public_key()
            bounds = (certificate.not_valid_before_utc, certificate.not_valid_after_utc)
        else:
            key = serialization.load_pem_public_key(data)  # type: ignore[assignment]
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SignatureFormatError(f"not a PEM public key or X.509 certificate: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise SignatureFormatError("the key must be Ed25519, ECDSA P-256 or RSA")
    _check_key(key)
    return Trusted(key, *bounds)


def signature_valid(signature: Signature, trusted: Trusted) -> bool:
    """Whether ``signature`` was made by the private half of ``trusted``'s key."""
    key = trusted.key
    if signature.algorithm != _algorithm(key):
        return False
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature.signature, signature.message())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature.signature, signature.message(), ec.ECDSA(hashes.SHA256()))
        else:
            key.verify(signature.signature, signature.message(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
