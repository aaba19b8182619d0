"""Layer use cases: publish (check, store and unpack the zip like function code), read, list,
delete; and the layers a function configures, frozen into its settings.

A function may use up to 5 layer versions; its unzipped code and its layers together stay within
Lambda's 250 MB. A layer version is never changed; deleting one leaves the functions that use it
running (they keep its code digest, and the code store keeps the code).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from api import layer_schemas as schemas
from api.function_schemas import FunctionCode
from api.services import code_signing
from foundation.errors import InvalidRequest, LimitExceeded
from foundation.registry import layers as registry
from statemachine import layer_arn
from workers.functions.codestore import CodeStore, InvalidCode, StoredCode, decode_zip, zip_files
from workers.functions.layers import unzipped_size
from workers.functions.unpack import MAX_UNZIPPED_BYTES

log = logging.getLogger(__name__)
LAYER_VERSION_ARN = re.compile(
    r"arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:([a-zA-Z0-9_-]+):([0-9]+)"
)


def public(row: registry.LayerVersion, region: str) -> schemas.LayerVersionPublic:
    arn = layer_arn(row.layer_name, region=region)
    return schemas.LayerVersionPublic(
        layer_name=row.layer_name, layer_arn=arn,
        layer_version_arn=layer_arn(row.layer_name, row.version, region),
        version=row.version, description=row.description, created_date=row.created_at,
        compatible_runtimes=row.compatible_runtimes, compatible_architectures=row.compatible_architectures,
        license_info=row.license_info,
        content=schemas.LayerContent(
            code_sha256=row.code_sha256, code_size=row.code_size, unzipped_size=row.unzipped_size,
            signing_profile_version_arn=(row.signature or {}).get("profile"),
        ),
    )  # fmt: skip


def _invalid(location: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        message, [{"location": location, "message": message, "code": "InvalidParameterValueException"}]
    )


def check_name(name: str) -> None:
    if not registry.LAYER_NAME.fullmatch(name):
        raise _invalid("/layerName", f"layer name {name[:150]!r} must match {registry.LAYER_NAME.pattern}")


def _store(content: FunctionCode, store: CodeStore) -> tuple[StoredCode, int, dict[str, Any] | None]:
    data = decode_zip(content.zip_file) if content.zip_file is not None else zip_files(content.files or {})
    stored = store.put(data)
    return stored, unzipped_size(stored.path), code_signing.layer_signature(data)


async def publish(
    session: AsyncSession, store: CodeStore, name: str, body: schemas.LayerPublish, region: str
) -> schemas.LayerVersionPublic:
    """Check and store the zip (hostile ones are refused as function packages are), then number it."""
    check_name(name)
    try:
        stored, size, signature = await asyncio.to_thread(_store, body.content, store)
    except InvalidCode as exc:
        message = str(exc).replace("code:", "content:", 1)
        raise InvalidRequest(message, [{"location": "/content", "message": message}]) from None
    row = await registry.publish(
        session, name, description=body.description, license_info=body.license_info,
        compatible_runtimes=body.compatible_runtimes, compatible_architectures=body.compatible_architectures,
        code_sha256=stored.sha256, code_size=stored.size, unzipped_size=size, signature=signature,
    )  # fmt: skip
    return public(row, region)


async def get_version(
    session: AsyncSession, name: str, version: int, region: str
) -> schemas.LayerVersionPublic:
    return public(await registry.get_version(session, name, version), region)


async def list_versions(
    session: AsyncSession, name: str, region: str, runtime: str | None = None, architecture: str | None = None
) -> schemas.LayerVersionList:
    rows = await registry.list_versions(session, name, runtime, architecture)
    return schemas.LayerVersionList(layer_versions=[public(r, region) for r in rows])


async def list_latest(
    session: AsyncSession, region: str, runtime: str | None = None, architecture: str | None = None
) -> schemas.LayerVersionList:
    rows = await registry.list_latest(session, runtime, architecture)
    return schemas.LayerVersionList(layer_versions=[public(r, region) for r in rows])


async def delete_version(session: AsyncSession, name: str, version: int) -> None:
    await registry.delete_version(session, name, version)


async def freeze(
    session: AsyncSession, store: CodeStore, arns: list[str], code: StoredCode, *, function: str = "",
    runtime: str | None = None, architectures: list[str] | None = None, signing_config: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The layers a function configures, as its settings keep them; at most 5, each existing, one
    version per layer, and the function's unzipped code with them within 250 MB. Under a code-signing
    configuration (``signing_config``) each must pass ``code_signing.verify_layers``; a layer whose
    compatible runtimes or architectures leave out the function's is used anyway (as Lambda: they
    are metadata for listing), with a warning logged."""
    if len(arns) > registry.MAX_LAYERS_PER_FUNCTION:
        raise _invalid(
            "/layers",
            f"Cannot reference more than {registry.MAX_LAYERS_PER_FUNCTION} layers ({len(arns)} given).",
        )
    frozen: list[dict[str, Any]] = []
    signatures: list[tuple[str, dict[str, Any] | None]] = []
    seen: set[str] = set()
    for arn in arns:
        found = LAYER_VERSION_ARN.fullmatch(arn)
        if found is None:
            raise _invalid("/layers", f"{arn[:200]!r} is not a layer version ARN")
        name, version = found[1], int(found[2])
        if name in seen:
            raise _invalid("/layers", f"Two different versions of the same layer are not allowed: {name}.")
        seen.add(name)
        try:
            row = await registry.get_version(session, name, version)
        except registry.LayerVersionNotFound:
            raise _invalid("/layers", f"Layer version {arn} does not exist.") from None
        frozen.append(
            {"arn": arn, "sha256": row.code_sha256, "size": row.code_size, "unzippedSize": row.unzipped_size}
        )
        signatures.append((arn, row.signature))
        _warn_if_incompatible(row, arn, function, runtime, architectures or ["x86_64"])
    await code_signing.verify_layers(session, signing_config, signatures, function)
    await check_size(code, frozen)
    return frozen


async def verify_kept(
    session: AsyncSession, frozen: list[dict[str, Any]], function: str, signing_config: str | None
) -> None:
    """New code of a function under code signing: the layers it keeps must pass
    ``code_signing.verify_layers`` too (as Lambda's UpdateFunctionCode). A kept layer version since
    deleted has no signature left to check: it counts as unsigned."""
    if signing_config is None or not frozen:
        return
    signatures: list[tuple[str, dict[str, Any] | None]] = []
    for layer in frozen:
        found = LAYER_VERSION_ARN.fullmatch(layer["arn"])
        try:
            row = await registry.get_version(session, found[1], int(found[2])) if found else None
        except registry.LayerVersionNotFound:
            row = None
        signatures.append((layer["arn"], row.signature if row is not None else None))
    await code_signing.verify_layers(session, signing_config, signatures, function)


def aws_runtime(runtime: str) -> str:
    """The name Lambda gives a Stepline runtime (``nodejs20`` is ``nodejs20.x``)."""
    return {"nodejs20": "nodejs20.x", "provided": "provided.al2023"}.get(runtime, runtime)


def _warn_if_incompatible(
    row: registry.LayerVersion, arn: str, function: str, runtime: str | None, architectures: list[str]
) -> None:
    """Lambda does not refuse a layer whose ``CompatibleRuntimes``/``CompatibleArchitectures`` leave
    out the function's (they filter ListLayers); Stepline logs that it may not work."""
    names = {runtime, aws_runtime(runtime)} if runtime else set()
    if row.compatible_runtimes and names and not names & set(row.compatible_runtimes):
        log.warning(
            "function %s (runtime %s) uses layer %s, whose compatible runtimes are %s",
            function, runtime, arn, ", ".join(row.compatible_runtimes),
        )  # fmt: skip
    if row.compatible_architectures and not set(architectures) & set(row.compatible_architectures):
        log.warning(
            "function %s (%s) uses layer %s, whose compatible architectures are %s",
            function, ", ".join(architectures), arn, ", ".join(row.compatible_architectures),
        )  # fmt: skip


async def check_size(code: StoredCode, frozen: list[dict[str, Any]]) -> None:
    """The function's unzipped code and its layers together within Lambda's 250 MB."""
    if not frozen:
        return
    total = await asyncio.to_thread(unzipped_size, code.path) + sum(layer["unzippedSize"] for layer in frozen)
    if total > MAX_UNZIPPED_BYTES:
        message = (
            "Function code combined with layers exceeds the maximum allowed size of "
            f"{MAX_UNZIPPED_BYTES} bytes. The actual size is {total} bytes."
        )
        problem = {"location": "/layers", "message": message, "code": "InvalidParameterValueException"}
        raise LimitExceeded(message, [problem])
