"""Container images: importing an archive into the image store and the registry, and what an
ImageUri names.

An ImageUri is ``repository:tag``, ``repository@sha256:<hex>``, or either behind a registry host,
an ECR one (``123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag``) included: the host is not
contacted (no registry is), the repository and tag or digest name an imported image. Docker Hub's
``docker.io/library/`` prefix of an archive's names is dropped, so ``hello:latest`` finds it.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from api import image_schemas as schemas
from api.function_schemas import FunctionConfigFields
from api.pagination import decode_token, encode_token
from foundation.errors import InvalidRequest
from foundation.registry import images as registry
from workers.functions.images.sources import InvalidImage
from workers.functions.images.store import ImageStore

REPOSITORY = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
IMAGE_REFERENCE = re.compile(
    rf"^(?:(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?)/)?(?P<repository>{REPOSITORY})"
    rf"(?::(?P<tag>{TAG}))?(?:@(?P<digest>sha256:[0-9a-f]{{64}}))?$"
)
MAX_REFERENCE = 512


def parse_reference(reference: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference; ``ValueError`` when it is not one."""
    found = IMAGE_REFERENCE.match(reference) if len(reference) <= MAX_REFERENCE else None
    if found is None:
        raise ValueError(f"{reference[:200]!r} is not an image reference (repository[:tag] or @sha256:...)")
    host, repository = found.group("host"), found.group("repository")
    if host is not None and not ("." in host or ":" in host or host == "localhost"):
        repository = f"{host}/{repository}"  # (a path component, not a host)
    elif host in ("docker.io", "index.docker.io") and repository.startswith("library/"):
        repository = repository.removeprefix("library/")
    digest = found.group("digest")
    return repository, found.group("tag") or (None if digest else "latest"), digest


def _names(given: str | None, in_archive: tuple[str, ...]) -> list[tuple[str, str]]:
    """The (repository, tag) names to give an imported image: ``given``, else the archive's own."""
    names: list[tuple[str, str]] = []
    for reference in [given] if given else in_archive:
        try:
            repository, tag, _ = parse_reference(reference)
        except ValueError:
            continue  # (a bare tag annotation, say; ``given`` is checked before)
        if tag is not None and (given or ":" in reference):
            names.append((repository, tag))
    return list(dict.fromkeys(names))


async def import_image(
    session: AsyncSession, store: ImageStore, archive: Path, name: str | None
) -> schemas.ImagePublic:
    """Import the image in ``archive`` (an OCI layout, directory or tar, or a docker save tar) as
    ``name`` (else the names the archive gives it); a refused archive is a 400 saying why."""
    if name is not None:
        try:
            parse_reference(name)
        except ValueError as exc:
            raise InvalidRequest(str(exc), [{"location": "query:/name", "message": str(exc)}]) from None
    try:
        imported = await asyncio.to_thread(store.import_archive, archive)
    except InvalidImage as exc:
        message = f"image: {exc}"
        raise InvalidRequest(message, [{"location": "/", "message": message}]) from None
    inner = imported.config.get("config")
    row = await registry.put_image(
        session, imported.digest, imported.size, list(imported.layers),
        inner if isinstance(inner, dict) else {}, _names(name, imported.references),
    )  # fmt: skip
    return (await _public(session, [row]))[0]


async def _public(session: AsyncSession, rows: list[registry.ContainerImage]) -> list[schemas.ImagePublic]:
    names = await registry.tags_of(session, [r.digest for r in rows])
    return [
        schemas.ImagePublic(
            digest=r.digest,
            size=r.size,
            layers=r.layers,
            names=names[r.digest],
            config=r.config,
            imported_at=r.imported_at,
        )
        for r in rows
    ]


async def get_image(session: AsyncSession, reference: str) -> schemas.ImagePublic:
    """An image by digest or name."""
    row = await registry.get_image(session, await _digest(session, reference))
    return (await _public(session, [row]))[0]


async def list_images(session: AsyncSession, limit: int, next_token: str | None) -> schemas.ImageList:
    after = decode_token("images", next_token)["after"] if next_token else None
    rows = await registry.list_images(session, limit + 1, after)
    token = encode_token("images", {"after": rows[limit - 1].digest}) if len(rows) > limit else None
    return schemas.ImageList(images=await _public(session, rows[:limit]), next_token=token)


async def _digest(session: AsyncSession, reference: str) -> str:
    if re.fullmatch(r"sha256:[0-9a-f]{64}", reference):
        return (await registry.get_image(session, reference)).digest
    try:
        repository, tag, digest = parse_reference(reference)
    except ValueError:
        raise registry.ImageNotFound(reference) from None
    return await registry.find_digest(session, repository, tag, digest)


async def function_image(session: AsyncSession, image_uri: str) -> tuple[str, int]:
    """(digest hex, size) of the imported image an ImageUri names, or a 400 naming the URI (as
    Lambda answers for a source image that does not exist)."""
    try:
        parse_reference(image_uri)
    except ValueError as exc:
        message = f"ImageUri {exc}"
        raise InvalidRequest(message, [{"location": "/code/imageUri", "message": message}]) from None
    try:
        digest = await _digest(session, image_uri)
    except registry.ImageNotFound:
        message = f"Source image {image_uri} does not exist. Provide a valid source image."
        raise InvalidRequest(message, [{"location": "/code/imageUri", "message": message}]) from None
    row = await registry.get_image(session, digest)
    return digest.removeprefix("sha256:"), row.size


ZIP_ONLY = {"layers": "layers", "file_system_configs": "fileSystemConfigs", "db_proxies": "dbProxies"}
"""What an Image function cannot have: layers (as Lambda), and attachments whose mount points (under
/mnt, /run) are not in the image's read-only root."""


def refuse_zip_only(body: FunctionConfigFields) -> None:
    """A 400 naming the first setting an Image function cannot have."""
    for field, member in ZIP_ONLY.items():
        if getattr(body, field, None):
            message = f"{member} is only supported for functions of packageType Zip"
            raise InvalidRequest(message, [{"location": f"/{member}", "message": message}])


def image_function_fields(
    digest_hex: str, size: int, image_uri: str, overrides: dict[str, Any]
) -> dict[str, Any]:
    """The registry settings of an Image function."""
    return {
        "package_type": "Image", "runtime": "", "handler": "", "code_sha256": digest_hex, "code_size": size,
        "image_uri": image_uri, "image_config": overrides,
    }  # fmt: skip
