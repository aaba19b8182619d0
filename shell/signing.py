"""``stepline sign``: sign a deployment package with a private key that stays on this machine."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from foundation import code_signatures

PASSPHRASE_VARIABLE = "STEPLINE_SIGNING_PASSPHRASE"
"""The passphrase of an encrypted private key (never a command-line argument: ``ps`` shows those)."""


def sign_package(package: Path, key: Path, profile: str, output: Path, validity_days: int) -> Path:
    """Write ``package`` signed for ``profile`` (a signing profile version ARN) to ``output``.

    Raises ``SignatureFormatError`` for a key or package that cannot be used, ``OSError`` for files.
    """
    passphrase = os.environ.get(PASSPHRASE_VARIABLE)
    private = code_signatures.load_private_key(key.read_bytes(), passphrase.encode() if passphrase else None)
    signed = code_signatures.sign(
        package.read_bytes(), private, profile, validity=timedelta(days=validity_days)
    )
    output.write_bytes(signed)
    return output
