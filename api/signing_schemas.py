"""Request and response bodies for code signing: signing profiles (AWS Signer's, on ``/v1`` only)
and code-signing configurations (Lambda's), camelCase JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.schemas import Schema


class SigningProfileCreate(Schema):
    name: str = Field(pattern=r"^[a-zA-Z0-9_]{2,64}$")
    public_material: str = Field(min_length=1, max_length=16384)
    """A PEM public key (Ed25519, ECDSA P-256, RSA >= 2048) or an X.509 certificate holding one."""
    signature_validity_days: int = Field(default=135 * 30, ge=1, le=135 * 30)
    """How long a signature made for this profile is valid (AWS Signer's default and most: 135 months)."""


class SigningProfilePublic(Schema):
    name: str
    profile_version: str
    profile_version_arn: str
    public_material: str
    signature_validity_days: int
    status: str
    created_at: datetime


class SigningProfileList(Schema):
    profiles: list[SigningProfilePublic]


class CodeSigningConfigCreate(Schema):
    description: str = Field(default="", max_length=256)
    allowed_publishers: list[str] = Field(min_length=1, max_length=20)
    """Signing profile version ARNs whose signatures are trusted."""
    untrusted_artifact_on_deployment: Literal["Warn", "Enforce"] = "Warn"


class CodeSigningConfigUpdate(Schema):
    description: str | None = Field(default=None, max_length=256)
    allowed_publishers: list[str] | None = Field(default=None, min_length=1, max_length=20)
    untrusted_artifact_on_deployment: Literal["Warn", "Enforce"] | None = None


class CodeSigningConfigPublic(Schema):
    code_signing_config_id: str
    code_signing_config_arn: str
    description: str
    allowed_publishers: list[str]
    untrusted_artifact_on_deployment: str
    last_modified: datetime


class CodeSigningConfigList(Schema):
    code_signing_configs: list[CodeSigningConfigPublic]


class FunctionCodeSigning(Schema):
    code_signing_config_arn: str
