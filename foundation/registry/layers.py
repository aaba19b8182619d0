"""Lambda layers: named, numbered, immutable versions of a zip that functions merge under /opt.

A layer's version numbers only grow (``layer.latest_version``), even past deleted versions. A
function freezes what it uses (``FunctionSettings.layers``: the version's ARN and code digest), so
deleting a layer version never breaks a function that uses it: its code stays in the code store.
Repositories never commit: the caller owns the transaction.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, ForeignKey, Text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import NotFound
from foundation.registry.functions import utcnow

LAYER_NAME = re.compile(r"[a-zA-Z0-9_-]{1,140}")
MAX_LAYERS_PER_FUNCTION = 5
MAX_COMPATIBLE_RUNTIMES = 15
MAX_COMPATIBLE_ARCHITECTURES = 2


class Layer(SQLModel, table=True):
    """A layer's name and the last version number it gave (never reused)."""

    __tablename__ = "layer"

    name: str = Field(primary_key=True, max_length=140)
    latest_version: int = 0


class LayerVersion(SQLModel, table=True):
    """One immutable version of a layer."""

    __tablename__ = "layer_version"

    layer_name: str = Field(
        sa_column=Column(Text, ForeignKey("layer.name", ondelete="CASCADE"), primary_key=True)
    )
    version: int = Field(primary_key=True)
    description: str = Field(default="", sa_type=Text)
    license_info: str | None = Field(default=None, sa_type=Text)
    compatible_runtimes: list[str] = Field(default_factory=list, sa_type=JSON)
    compatible_architectures: list[str] = Field(default_factory=list, sa_type=JSON)
    code_sha256: str = Field(max_length=64)
    code_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    unzipped_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    signature: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """The signature block of the published zip (``foundation.code_signatures``), with ``digest``: the
    SHA-256 of the zip without it, as computed at publish (None: unsigned)."""
    policy_revision_id: str | None = Field(default=None, max_length=36)
    """Changes with each permission added or removed (``layer_permissions``)."""


class LayerVersionNotFound(NotFound):
    def __init__(self, name: str, version: int | None = None) -> None:
        self.name, self.version = name, version
        what = f"layer {name!r}" + (f" version {version}" if version is not None else "")
        super().__init__(f"{what} does not exist")


async def publish(
    session: AsyncSession, name: str, *, description: str, license_info: str | None,
    compatible_runtimes: list[str], compatible_architectures: list[str], code_sha256: str, code_size: int,
    unzipped_size: int, signature: dict[str, Any] | None = None,
) -> LayerVersion:  # fmt: skip
    """The layer's next version (the layer row, locked, serialises publishers)."""
    await session.exec(insert(Layer).values(name=name, latest_version=0).on_conflict_do_nothing())
    query = (
        select(Layer).where(Layer.name == name).with_for_update().execution_options(populate_existing=True)
    )
    layer = (await session.exec(query)).one()
    layer.latest_version += 1
    row = LayerVersion(
        layer_name=name, version=layer.latest_version, description=description, license_info=license_info,
        compatible_runtimes=compatible_runtimes, compatible_architectures=compatible_architectures,
        code_sha256=code_sha256, code_size=code_size, unzipped_size=unzipped_size, created_at=utcnow(),
        signature=signature,
    )  # fmt: skip
    session.add(layer)
    session.add(row)
    await session.flush()
    return row


async def get_version(session: AsyncSession, name: str, version: int) -> LayerVersion:
    row = await session.get(LayerVersion, (name, version))
    if row is None:
        raise LayerVersionNotFound(name, version)
    return row


def _matches(row: LayerVersion, runtime: str | None, architecture: str | None) -> bool:
    return (runtime is None or runtime in row.compatible_runtimes) and (
        architecture is None or architecture in row.compatible_architectures
    )


async def list_versions(
    session: AsyncSession, name: str, runtime: str | None = None, architecture: str | None = None
) -> list[LayerVersion]:
    """A layer's versions, newest first (those compatible with ``runtime`` and ``architecture``)."""
    query = select(LayerVersion).where(LayerVersion.layer_name == name)
    rows = (await session.exec(query.order_by(col(LayerVersion.version).desc()))).all()
    return [r for r in rows if _matches(r, runtime, architecture)]


async def list_latest(
    session: AsyncSession, runtime: str | None = None, architecture: str | None = None
) -> list[LayerVersion]:
    """Each layer's newest version that matches, by layer name."""
    query = select(LayerVersion).order_by(col(LayerVersion.layer_name), col(LayerVersion.version).desc())
    latest: dict[str, LayerVersion] = {}
    for row in (await session.exec(query)).all():
        if row.layer_name not in latest and _matches(row, runtime, architecture):
            latest[row.layer_name] = row
    return list(latest.values())


async def delete_version(session: AsyncSession, name: str, version: int) -> None:
    """Delete a version (nothing if it does not exist, as Lambda answers 204 either way)."""
    row = await session.get(LayerVersion, (name, version))
    if row is not None:
        await session.delete(row)
        await session.flush()
