"""Sealing proxy target URLs at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from ``STEPLINE_SECRET_KEY`` (every API and worker process must share it); without
it, a random key kept in ``<data_dir>/secret.key`` (mode 600) serves a single machine.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SealError(ValueError):
    """A sealed value that this key cannot open (wrong STEPLINE_SECRET_KEY?)."""


class Sealer:
    """Encrypts and decrypts small secrets with a key derived from one passphrase."""

    def __init__(self, passphrase: str) -> None:
        self._passphrase = passphrase.encode()
        self._fernet = Fernet(base64.urlsafe_b64encode(self.derive("sealing-v1")))

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose`` from the same passphrase, independent of every other
        purpose's (HKDF): e.g. ``dbproxy-slots-v1``, which keys the proxies' slot locks."""
        info = f"stepline-{purpose}".encode()
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(self._passphrase)

    @classmethod
    def from_settings(cls, secret_key: str | None, data_dir: Path) -> Sealer:
        """The configured key, else the data directory's key file (created on first use)."""
        if secret_key:
            return cls(secret_key)
        path = data_dir / "secret.key"
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(32))
        return cls(path.read_text().strip())

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SealError("cannot decrypt a stored secret: was STEPLINE_SECRET_KEY changed?") from None
