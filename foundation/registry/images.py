"""Container images imported into the data directory's image store, and the names they go by.

``container_image`` is one image (its manifest digest); ``container_image_tag`` maps a
``repository:tag`` to a digest (importing again under the same name moves the tag, as a push does).
The blobs themselves are in ``workers.functions.images.store``. Repositories never commit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, ForeignKey, Text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import NotFound


class ContainerImage(SQLModel, table=True):
    __tablename__ = "container_image"

    digest: str = Field(primary_key=True, max_length=71)
    """``sha256:<hex>`` of the image's manifest."""
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    layers: list[str] = Field(default_factory=list, sa_type=JSON)
    config: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    """The image configuration's ``config`` object (Entrypoint, Cmd, WorkingDir, Env, ...)."""
    imported_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ContainerImageTag(SQLModel, table=True):
    __tablename__ = "container_image_tag"

    repository: str = Field(primary_key=True, max_length=256)
    tag: str = Field(primary_key=True, max_length=128)
    digest: str = Field(sa_column=Column(Text, ForeignKey("container_image.digest"), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ImageNotFound(NotFound):
    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(f"image {reference!r} does not exist")


async def put_image(
    session: AsyncSession, digest: str, size: int, layers: list[str], config: dict[str, Any],
    names: list[tuple[str, str]],
) -> ContainerImage:  # fmt: skip
    """Record an imported image (again: nothing changes) and point each (repository, tag) at it."""
    now = datetime.now(UTC)
    row = await session.get(ContainerImage, digest)
    if row is None:
        row = ContainerImage(digest=digest, size=size, layers=layers, config=config, imported_at=now)
        session.add(row)
        await session.flush()
    for repository, tag in names:
        found = await session.get(ContainerImageTag, (repository, tag))
        if found is None:
            found = ContainerImageTag(repository=repository, tag=tag, digest=digest, updated_at=now)
        else:
            found.digest, found.updated_at = digest, now
        session.add(found)
    await session.flush()
    return row


async def find_digest(session: AsyncSession, repository: str, tag: str | None, digest: str | None) -> str:
    """The digest ``repository:tag`` or ``repository@digest`` names; ``ImageNotFound`` if none."""
    if digest is not None:
        if await session.get(ContainerImage, digest) is None:
            raise ImageNotFound(f"{repository}@{digest}")
        return digest
    found = await session.get(ContainerImageTag, (repository, tag or "latest"))
    if found is None:
        raise ImageNotFound(f"{repository}:{tag or 'latest'}")
    return found.digest


async def get_image(session: AsyncSession, digest: str) -> ContainerImage:
    row = await session.get(ContainerImage, digest)
    if row is None:
        raise ImageNotFound(digest)
    return row


async def tags_of(session: AsyncSession, digests: list[str]) -> dict[str, list[str]]:
    """``repository:tag`` names by digest."""
    query = select(ContainerImageTag).where(col(ContainerImageTag.digest).in_(digests))
    names: dict[str, list[str]] = {d: [] for d in digests}
    for row in (await session.exec(query.order_by(col(ContainerImageTag.repository)))).all():
        names[row.digest].append(f"{row.repository}:{row.tag}")
    return names


async def list_images(session: AsyncSession, limit: int, after: str | None = None) -> list[ContainerImage]:
    query = select(ContainerImage).order_by(col(ContainerImage.digest)).limit(limit)
    if after is not None:
        query = query.where(col(ContainerImage.digest) > after)
    return list((await session.exec(query)).all())
