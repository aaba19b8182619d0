"""The package signature format: sign and verify with each key type, tampering, foreign keys,
unusable keys, and a package that keeps unpacking once signed."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from foundation import code_signatures as cs

PROFILE = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/team/abcdefghij"
DAY = timedelta(days=1)


def package(text: str = "print('hi')") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", text)
    return buffer.getvalue()


def public(key: cs.PrivateKey) -> cs.Trusted:
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return cs.load_public_material(pem.decode())


KEYS: dict[str, cs.PrivateKey] = {
    "ed25519": ed25519.Ed25519PrivateKey.generate(),
    "p256": ec.generate_private_key(ec.SECP256R1()),
    "rsa2048": rsa.generate_private_key(public_exponent=65537, key_size=2048),
}


@pytest.mark.parametrize("key", list(KEYS.values()), ids=list(KEYS))
def test_a_signed_package_verifies_and_still_unpacks(key: cs.PrivateKey) -> None:
    signed = cs.sign(package(), key, PROFILE, validity=DAY)
    signature, digest = cs.read_signature(signed)
    assert signature is not None and signature.sha256 == digest and signature.profile == PROFILE
    assert cs.signature_valid(signature, public(key))
    assert zipfile.ZipFile(io.BytesIO(signed)).read("app.py") == b"print('hi')"
    assert cs.split(signed)[0] == package()  # the unsigned form is the package as it was


def test_tampering_and_foreign_keys_are_detected() -> None:
    key, other = KEYS["ed25519"], ed25519.Ed25519PrivateKey.generate()
    signed = cs.sign(package(), key, PROFILE, validity=DAY)
    unsigned, comment = cs.split(signed)
    tampered = cs.with_comment(unsigned.replace(b"print('hi')", b"print('no')"), comment)
    signature, digest = cs.read_signature(tampered)
    assert signature is not None and signature.sha256 != digest
    assert not cs.signature_valid(signature, public(other))
    assert not cs.signature_valid(signature, public(KEYS["p256"]))  # another algorithm
    assert cs.read_signature(package())[0] is None


def test_times_are_in_the_signed_message() -> None:
    key = KEYS["ed25519"]
    then = datetime(2026, 1, 1, tzinfo=UTC)
    signature, _ = cs.read_signature(cs.sign(package(), key, PROFILE, validity=DAY, now=then))
    assert signature is not None and signature.expires_at == then + DAY
    stretched = cs.Signature(
        signature.profile, signature.sha256, signature.signed_at, signature.expires_at + DAY,
        signature.algorithm, signature.signature,
    )  # fmt: skip
    assert not cs.signature_valid(stretched, public(key))


@pytest.mark.parametrize(
    "pem",
    [
        b"not a key",
        rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    ],
    ids=["garbage", "rsa-1024", "p384"],
)
def test_unusable_private_keys_are_refused(pem: bytes) -> None:
    with pytest.raises(cs.SignatureFormatError):
        cs.load_private_key(pem)


def test_not_a_zip_and_a_damaged_block_are_refused() -> None:
    with pytest.raises(cs.SignatureFormatError):
        cs.read_signature(b"plain bytes")
    with pytest.raises(cs.SignatureFormatError):
        cs.read_signature(cs.with_comment(package(), cs.MAGIC + b"!!!"))
