"""Code signing: signing profiles (AWS Signer's: trusted public keys or X.509 certificates) and
Lambda's code-signing configurations (allowed profile versions and a policy, Enforce or Warn).

Only public material is stored: the private key never leaves the signer (``stepline sign``). A
configuration in use by a function cannot be deleted. Repositories never commit.
"""

from __future__ import annotations

import re
import secrets
import string
from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, ForeignKey, String, Text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import Conflict, NotFound
from foundation.registry.functions import utcnow

PROFILE_NAME = re.compile(r"[a-zA-Z0-9_]{2,64}")
"""AWS Signer's profile names."""
POLICIES = ("Warn", "Enforce")
MAX_ALLOWED_PROFILES = 20
DEFAULT_VALIDITY_DAYS = 135 * 30
"""AWS Signer's default signature validity: 135 months."""


class SigningProfile(SQLModel, table=True):
    """A signing profile: who may sign, by the public half of their key."""

    __tablename__ = "signing_profile"

    name: str = Field(primary_key=True, max_length=64)
    profile_version: str = Field(max_length=10)
    public_material: str = Field(sa_type=Text)
    """A PEM public key or X.509 certificate."""
    validity_days: int = DEFAULT_VALIDITY_DAYS
    status: str = Field(default="Active", max_length=16)
    """Active, or Revoked (signatures by it fail verification from then on)."""
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class CodeSigningConfig(SQLModel, table=True):
    """Which profile versions a function's code must be signed by, and what a failure does."""

    __tablename__ = "code_signing_config"

    id: str = Field(primary_key=True, max_length=21)
    description: str = Field(default="", sa_type=Text)
    allowed_profiles: list[str] = Field(default_factory=list, sa_type=JSON)
    """Signing profile version ARNs."""
    policy: str = Field(default="Warn", max_length=8)
    """``UntrustedArtifactOnDeployment``: Warn or Enforce."""
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_modified: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class FunctionCodeSigning(SQLModel, table=True):
    """The configuration a function's new code must satisfy (one per function at most)."""

    __tablename__ = "function_code_signing"

    function_name: str = Field(
        sa_column=Column(Text, ForeignKey("function.name", ondelete="CASCADE"), primary_key=True)
    )
    config_id: str = Field(sa_column=Column(String(21), ForeignKey("code_signing_config.id"), nullable=False))


class SigningProfileExists(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"signing profile {name!r} already exists")


class SigningProfileNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"signing profile {name!r} does not exist")


class CodeSigningConfigNotFound(NotFound):
    def __init__(self, config_id: str) -> None:
        self.config_id = config_id
        super().__init__(f"code signing configuration {config_id!r} does not exist")


class CodeSigningConfigInUse(Conflict):
    def __init__(self, config_id: str) -> None:
        super().__init__(
            f"The code signing configuration {config_id} cannot be deleted because it is used by one or more "
            "functions."
        )


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


async def create_profile(
    session: AsyncSession, name: str, public_material: str, validity_days: int
) -> SigningProfile:
    if await session.get(SigningProfile, name) is not None:
        raise SigningProfileExists(name)
    row = SigningProfile(
        name=name, profile_version=_random(string.ascii_letters + string.digits, 10),
        public_material=public_material, validity_days=validity_days, created_at=utcnow(),
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def get_profile(session: AsyncSession, name: str) -> SigningProfile:
    row = await session.get(SigningProfile, name)
    if row is None:
        raise SigningProfileNotFound(name)
    return row


async def list_profiles(session: AsyncSession) -> list[SigningProfile]:
    return list((await session.exec(select(SigningProfile).order_by(col(SigningProfile.name)))).all())


async def revoke_profile(session: AsyncSession, name: str) -> SigningProfile:
    row = await get_profile(session, name)
    row.status = "Revoked"
    session.add(row)
    await session.flush()
    return row


async def create_config(
    session: AsyncSession, description: str, allowed_profiles: list[str], policy: str
) -> CodeSigningConfig:
    now = utcnow()
    row = CodeSigningConfig(
        id="csc-" + _random(string.ascii_lowercase + string.digits, 17), description=description,
        allowed_profiles=allowed_profiles, policy=policy, created_at=now, last_modified=now,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def get_config(session: AsyncSession, config_id: str) -> CodeSigningConfig:
    row = await session.get(CodeSigningConfig, config_id)
    if row is None:
        raise CodeSigningConfigNotFound(config_id)
    return row


async def list_configs(session: AsyncSession) -> list[CodeSigningConfig]:
    query = select(CodeSigningConfig).order_by(col(CodeSigningConfig.created_at), col(CodeSigningConfig.id))
    return list((await session.exec(query)).all())


async def update_config(
    session: AsyncSession, config_id: str, *, description: str | None, allowed_profiles: list[str] | None,
    policy: str | None,
) -> CodeSigningConfig:  # fmt: skip
    row = await get_config(session, config_id)
    if description is not None:
        row.description = description
    if allowed_profiles is not None:
        row.allowed_profiles = allowed_profiles
    if policy is not None:
        row.policy = policy
    row.last_modified = utcnow()
    session.add(row)
    await session.flush()
    return row


async def functions_using(session: AsyncSession, config_id: str) -> list[str]:
    query = select(FunctionCodeSigning.function_name).where(FunctionCodeSigning.config_id == config_id)
    return list((await session.exec(query.order_by(col(FunctionCodeSigning.function_name)))).all())


async def function_config(session: AsyncSession, function: str) -> str | None:
    """The id of the configuration ``function`` names (None: none)."""
    row = await session.get(FunctionCodeSigning, function)
    return row.config_id if row is not None else None


async def set_function_config(session: AsyncSession, function: str, config_id: str | None) -> None:
    """Name (None: remove) the configuration of ``function``; the caller locks the function's row."""
    row = await session.get(FunctionCodeSigning, function)
    if config_id is None:
        if row is not None:
            await session.delete(row)
    elif row is None:
        session.add(FunctionCodeSigning(function_name=function, config_id=config_id))
    else:
        row.config_id = config_id
        session.add(row)
    await session.flush()


async def delete_config(session: AsyncSession, config_id: str) -> None:
    row = await get_config(session, config_id)
    if await functions_using(session, config_id):
        raise CodeSigningConfigInUse(config_id)
    await session.delete(row)
    await session.flush()
