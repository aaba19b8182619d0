"""Function use cases: store the code, write the registry, tell the runtime what changed.

Code is checked and stored (content-addressed) before the registry row is written, so a broken
package is a 400 and never a half-created function.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from api import function_schemas as schemas
from api.pagination import decode_token, encode_token
from api.runtime import FunctionRuntime
from api.services import aliases, code_signing, images, layers, postgres_change_sources
from foundation.errors import InvalidRequest
from foundation.registry import aliases as alias_registry
from foundation.registry import function_permissions, tags
from foundation.registry import functions as registry
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.settings import Settings
from statemachine import function_arn
from workers.functions.codestore import CodeStore, InvalidCode, StoredCode, decode_zip, zip_files

LIST_LIMIT = 100
PREPARING_SECONDS = 30.0
"""An image function's deployment reads as Creating (Lambda's ``Pending``) or Updating
(``LastUpdateStatus: InProgress``) until its environment is prepared, and at most this long."""


def public(row: registry.Function | registry.FunctionVersion) -> schemas.FunctionPublic:
    """The API view of ``$LATEST`` (a ``Function``) or of a published version."""
    if isinstance(row, registry.Function):
        name, version, extra = (
            row.name,
            registry.LATEST,
            {
                "reserved_concurrency": row.reserved_concurrency,
                "provisioned_concurrency": row.provisioned_concurrency,
                "revision_id": row.revision_id,
                "last_modified": row.last_modified,
                "preparing": registry.pending_now(row),
            },
        )
    else:
        name, version, extra = row.function_name, str(row.version), {"last_modified": row.created_at}
    return schemas.FunctionPublic(
        function_name=name,
        function_arn=function_arn(name, None if version == registry.LATEST else version),
        version=version,
        **{field: getattr(row, field) for field in registry.SETTINGS_FIELDS},
        **extra,
    )


async def prepare_deployed(
    runtime: FunctionRuntime, sessions: SessionMaker, deployed: schemas.FunctionPublic,
    latest: schemas.FunctionPublic | None = None,
) -> None:  # fmt: skip
    """After a deployment's answer: have the environment its first cold start takes prepared
    (``FunctionRuntime.prepare``: image functions), then end the ``Creating``/``Updating`` state of
    ``$LATEST`` (``latest`` when ``deployed`` is the version published from it)."""
    version = None if deployed.version == registry.LATEST else deployed.version
    await runtime.prepare(deployed.function_name, version)
    latest = latest or deployed
    if latest.preparing is not None and latest.revision_id is not None:
        async with unit_of_work(sessions) as session:
            await registry.end_pending(session, latest.function_name, latest.revision_id)


async def store_code(code: schemas.FunctionCode, store: CodeStore, runtime: str, handler: str) -> StoredCode:
    """Check and store a package, off the event loop (a big one takes seconds); problems are a 400
    naming the field and the entry."""
    try:
        stored = await asyncio.to_thread(_put, code, store)
    except InvalidCode as exc:
        raise InvalidRequest(str(exc), [{"location": "/code", "message": str(exc)}]) from None
    check_package(stored, runtime, handler)
    return stored


def _put(code: schemas.FunctionCode, store: CodeStore) -> StoredCode:
    data = decode_zip(code.zip_file) if code.zip_file is not None else zip_files(code.files or {})
    return store.put(data)


def check_package(stored: StoredCode, runtime: str, handler: str) -> None:
    """What Lambda checks before accepting a package (the handler module is only found at INIT)."""
    problems: list[dict[str, Any]] = []
    if runtime == "provided":
        bootstrap = stored.path / "bootstrap"
        if not bootstrap.is_file():
            problems.append({"location": "/code", "message": "the provided runtime needs a 'bootstrap' file"})
    elif "." not in handler.strip(".") or handler.startswith(".") or handler.endswith("."):
        what = "module.function" if runtime.startswith("python") else "file.export"
        problems.append({"location": "/handler", "message": f"handler {handler!r} must look like {what}"})
    if problems:
        raise InvalidRequest("; ".join(f"{p['location']}: {p['message']}" for p in problems), problems)


def _settings_fields(body: schemas.FunctionConfigFields) -> dict[str, Any]:
    return {
        k: v
        for k, v in body.model_dump(exclude_unset=True).items()
        if k in registry.SETTINGS_FIELDS and v is not None
    }


async def create_function(
    session: AsyncSession, store: CodeStore, body: schemas.FunctionCreate
) -> schemas.FunctionPublic:
    if body.package_type == "Image":
        return await _create_image_function(session, body)
    assert body.runtime is not None and body.handler is not None  # (FunctionCreate checks a Zip's)
    arn = body.code_signing_config_arn
    config_id = code_signing.config_id_of(arn) if arn is not None else None
    signer = await code_signing.verify(session, config_id, body.code, body.name)
    stored = await store_code(body.code, store, body.runtime, body.handler)
    fields = _settings_fields(body) | {"code_sha256": stored.sha256, "code_size": stored.size}
    fields["layers"] = await layers.freeze(
        session, store, body.layers or [], stored, function=body.name, runtime=body.runtime,
        signing_config=config_id,
    )  # fmt: skip
    fields["signing_profile_version_arn"] = signer
    row = await registry.create_function(session, body.name, registry.FunctionSettings(**fields))
    if arn is not None:
        await code_signing.set_function_config(session, body.name, arn)
    return public(row)


async def _create_image_function(
    session: AsyncSession, body: schemas.FunctionCreate
) -> schemas.FunctionPublic:
    """A function whose code is an imported container image (``api.services.images``)."""
    images.refuse_zip_only(body)
    assert body.code.image_uri is not None  # (FunctionCreate checks an Image's)
    digest, size = await images.function_image(session, body.code.image_uri)
    overrides = body.image_config.lambda_form() if body.image_config is not None else {}
    fields = _settings_fields(body) | images.image_function_fields(
        digest, size, body.code.image_uri, overrides
    )
    row = await registry.create_function(session, body.name, registry.FunctionSettings(**fields))
    registry.mark_pending(row, "Creating", PREPARING_SECONDS)
    return public(row)


async def _image_changes(
    session: AsyncSession, current: registry.Function, body: schemas.FunctionUpdate
) -> dict[str, Any]:
    """An Image function's new image or ImageConfig; a package type is never changed (as Lambda)."""
    images.refuse_zip_only(body)
    if body.runtime is not None or body.handler is not None:
        message = "an Image function has no runtime or handler"
        raise InvalidRequest(message, [{"location": "/", "message": message}])
    if body.code is not None and body.code.image_uri is None:
        message = "an Image function's code is an image (code.imageUri): its package type cannot change"
        raise InvalidRequest(message, [{"location": "/code", "message": message}])
    uri = body.code.image_uri if body.code is not None and body.code.image_uri else current.image_uri or ""
    digest, size = current.code_sha256, current.code_size
    if body.code is not None:
        digest, size = await images.function_image(session, uri)
    overrides = body.image_config.lambda_form() if body.image_config is not None else current.image_config
    return _settings_fields(body) | images.image_function_fields(digest, size, uri, overrides)


async def update_function(
    session: AsyncSession, store: CodeStore, name: str, body: schemas.FunctionUpdate
) -> schemas.FunctionPublic:
    current = await registry.get_function(session, name, for_update=True)
    if current.package_type == "Image":
        row = await registry.update_function(session, name, await _image_changes(session, current, body))
        registry.mark_pending(row, "Updating", PREPARING_SECONDS)
        return public(row)
    if (body.code is not None and body.code.image_uri is not None) or body.image_config is not None:
        message = "a Zip function's package type cannot change to Image"
        raise InvalidRequest(message, [{"location": "/code", "message": message}])
    changes = _settings_fields(body)
    runtime = changes.get("runtime", current.runtime)
    handler = changes.get("handler", current.handler)
    if body.code is not None:
        config_id = await code_signing.function_config(session, name)
        signer = await code_signing.verify(session, config_id, body.code, name)
        changes["signing_profile_version_arn"] = signer
        stored = await store_code(body.code, store, runtime, handler)
        changes |= {"code_sha256": stored.sha256, "code_size": stored.size}
    elif "runtime" in changes or "handler" in changes:
        code = StoredCode(current.code_sha256, current.code_size, store.path(current.code_sha256))
        check_package(code, runtime, handler)
    if body.layers is not None or (body.code is not None and current.layers):
        code = StoredCode(
            changes.get("code_sha256", current.code_sha256), changes.get("code_size", current.code_size),
            store.path(changes.get("code_sha256", current.code_sha256)),
        )  # fmt: skip
        if body.layers is not None:
            changes["layers"] = await layers.freeze(
                session, store, body.layers, code, function=name, runtime=runtime,
                signing_config=await code_signing.function_config(session, name),
            )  # fmt: skip
        else:
            await layers.verify_kept(
                session, current.layers, name, await code_signing.function_config(session, name)
            )
            await layers.check_size(code, current.layers)
    return public(await registry.update_function(session, name, changes))


async def get_function(session: AsyncSession, name: str, qualifier: str | None) -> schemas.FunctionPublic:
    """``$LATEST``, a version, or the version an alias points at (Lambda's GetFunction with an alias)."""
    if alias_registry.is_alias(qualifier):
        assert qualifier is not None
        alias = await alias_registry.get_alias(session, name, qualifier)
        qualifier = alias.function_version
    if qualifier in (None, registry.LATEST):
        return public(await registry.get_function(session, name))
    versions = {str(v.version): v for v in await registry.list_versions(session, name)}
    if qualifier not in versions:
        raise registry.FunctionNotFound(name, qualifier)
    return public(versions[qualifier])


async def list_functions(session: AsyncSession, limit: int, next_token: str | None) -> schemas.FunctionList:
    after = decode_token("functions", next_token)["after"] if next_token else None
    rows = await registry.list_functions(session, limit + 1, after)
    token = encode_token("functions", {"after": rows[limit - 1].name}) if len(rows) > limit else None
    return schemas.FunctionList(functions=[public(r) for r in rows[:limit]], next_token=token)


async def delete_function(
    session: AsyncSession, name: str, region: str, settings: Settings | None = None
) -> None:
    """Delete a function with its versions, its policy statements, its tags and its event source mappings
    (what its PostgreSQL mappings installed in the user's database dropped first, best effort)."""
    await registry.get_function(session, name, for_update=True)
    await postgres_change_sources.uninstall_of_function(session, settings, name)
    await registry.delete_function(session, name)
    await tags.delete_tags(session, function_arn(name, None, region))


async def delete_version(session: AsyncSession, name: str, qualifier: str) -> None:
    """Delete one published version and its policy statements (``$LATEST`` only goes with the function)."""
    if qualifier == registry.LATEST:
        message = "$LATEST version cannot be deleted without deleting the function."
        raise InvalidRequest(message, [{"location": "query:/Qualifier", "message": message}])
    if not qualifier.isdigit():
        raise registry.FunctionNotFound(name, qualifier)
    await aliases.check_version_unused(session, name, qualifier)
    await registry.delete_version(session, name, int(qualifier))
    await function_permissions.delete_qualifier_statements(session, name, qualifier)


async def publish_version(
    session: AsyncSession, name: str, body: schemas.PublishVersion
) -> schemas.FunctionPublic:
    return public(await registry.publish_version(session, name, body.description))


async def list_versions(session: AsyncSession, name: str) -> schemas.VersionList:
    latest = await registry.get_function(session, name)
    published = await registry.list_versions(session, name)
    return schemas.VersionList(versions=[public(latest), *(public(v) for v in published)])


async def concurrency(
    session: AsyncSession, name: str, in_use: Callable[[str], Awaitable[int]]
) -> schemas.ConcurrencyInUse:
    """Reserved and provisioned concurrency, and what ``in_use`` (the runtime) counts running now."""
    row = await registry.get_function(session, name)
    running = await in_use(row.name)
    return schemas.ConcurrencyInUse(
        reserved=row.reserved_concurrency, provisioned=row.provisioned_concurrency, in_use=running
    )


async def set_concurrency(
    session: AsyncSession, name: str, body: schemas.ConcurrencyUpdate, max_environments: int
) -> schemas.Concurrency:
    """Reserved and provisioned concurrency; provisioned within what ``max_environments`` leaves
    (``registry.provisioned_budget``), or 400 InvalidParameterValueException saying how much is left."""
    if body.reserved is not None and body.provisioned > body.reserved:
        message = "provisioned concurrency cannot exceed reserved concurrency"
        raise InvalidRequest(message, [{"location": "/provisioned", "message": message}])
    try:
        row = await registry.set_concurrency(
            session, name, body.reserved, body.provisioned, max_environments=max_environments
        )
    except registry.ProvisionedOverBudget as exc:
        problem = {
            "location": "/provisioned",
            "code": "InvalidParameterValueException",
            "message": exc.detail,
        }
        raise InvalidRequest(exc.detail, [problem]) from None
    return schemas.Concurrency(reserved=row.reserved_concurrency, provisioned=row.provisioned_concurrency)
