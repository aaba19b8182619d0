"""AWS-style access keys: what SigV4 signatures on the AWS endpoints are verified against.

The secret is stored sealed (``foundation.sealing``, the key database proxy targets use); the
caller seals and opens it, so this module never sees a plain secret except from ``new_key_pair``.
A revoked key stays listed (who had which key) but never verifies again. Repositories never commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, String, Text, func
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import NotFound
from statemachine import DEFAULT_ACCOUNT

DEFAULT_ACCOUNT_ID = DEFAULT_ACCOUNT
"""The account of an access key created without one: the one in every ARN."""
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class AccessKey(SQLModel, table=True):
    """One access key pair; ``revoked_at`` set means it no longer authenticates."""

    __tablename__ = "access_key"

    access_key_id: str = Field(sa_column=Column(String(128), primary_key=True, nullable=False))
    secret_sealed: str = Field(sa_column=Column(Text, nullable=False))
    account_id: str = Field(sa_column=Column(String(12), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class AccessKeyNotFound(NotFound):
    def __init__(self, access_key_id: str) -> None:
        self.access_key_id = access_key_id
        super().__init__(f"access key {access_key_id!r} does not exist")


def new_key_pair() -> tuple[str, str]:
    """A fresh (access key id, secret) shaped like AWS's: ``AKIA`` + 16 characters, 40-character secret."""
    key_id = "AKIA" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    return key_id, secret


async def add_access_key(
    session: AsyncSession, access_key_id: str, secret_sealed: str, account_id: str = DEFAULT_ACCOUNT_ID
) -> AccessKey:
    row = AccessKey(
        access_key_id=access_key_id, secret_sealed=secret_sealed, account_id=account_id,
        created_at=datetime.now(UTC),
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def get_active_key(session: AsyncSession, access_key_id: str) -> AccessKey | None:
    """The key if it exists and is not revoked (what verification needs), else None."""
    row = await session.get(AccessKey, access_key_id)
    return row if row is not None and row.revoked_at is None else None


async def list_access_keys(session: AsyncSession) -> Sequence[AccessKey]:
    return (await session.exec(select(AccessKey).order_by(col(AccessKey.created_at)))).all()


async def revoke_access_key(session: AsyncSession, access_key_id: str) -> AccessKey:
    """Mark the key revoked (revoking twice keeps the first time)."""
    row = await session.get(AccessKey, access_key_id)
    if row is None:
        raise AccessKeyNotFound(access_key_id)
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.add(row)
        await session.flush()
    return row


async def count_active_keys(session: AsyncSession) -> int:
    """Keys that authenticate; 0 on loopback lets any well-formed signature in (LocalStack's mode)."""
    query = select(func.count()).select_from(AccessKey).where(col(AccessKey.revoked_at).is_(None))
    return int((await session.exec(query)).one())
