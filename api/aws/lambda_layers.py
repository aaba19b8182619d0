"""Lambda's layer operations over ``api.services.layers``: publish, get (by name and version or by
ARN), list layers and versions, delete. Translation only."""

from __future__ import annotations

from typing import Any

from api import layer_schemas as schemas
from api.aws.errors import AwsError
from api.aws.lambda_call import Call, Operation, Output
from api.aws.lambda_config import code_sha256
from api.function_schemas import FunctionCode
from api.pagination import decode_token, encode_token
from api.services import layer_permissions
from api.services import layers as use_cases
from foundation.registry import layer_permissions as permissions
from foundation.registry import layers as registry

PAGE = 50
_LAYER_ARN_PREFIX = ":layer:"


def _name(reference: str) -> str:
    """A layer's name from its name or its ARN (``arn:aws:lambda:REGION:ACCOUNT:layer:NAME``)."""
    if reference.startswith("arn:"):
        _, _, rest = reference.partition(_LAYER_ARN_PREFIX)
        if not rest or ":" in rest:
            raise AwsError("InvalidParameterValueException", f"Invalid layer ARN: {reference[:200]}")
        return rest
    return reference


def _date(layer: schemas.LayerVersionPublic) -> str:
    created = layer.created_date
    return created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}+0000"


def _item(layer: schemas.LayerVersionPublic) -> dict[str, Any]:
    """A ``LayerVersionsListItem``."""
    out: dict[str, Any] = {
        "LayerVersionArn": layer.layer_version_arn,
        "Version": layer.version,
        "Description": layer.description,
        "CreatedDate": _date(layer),
        "CompatibleRuntimes": layer.compatible_runtimes,
        "CompatibleArchitectures": layer.compatible_architectures,
    }
    if layer.license_info is not None:
        out["LicenseInfo"] = layer.license_info
    return out


def _version(layer: schemas.LayerVersionPublic) -> dict[str, Any]:
    """``GetLayerVersionResponse`` (and PublishLayerVersion's)."""
    content: dict[str, Any] = {
        "CodeSha256": code_sha256(layer.content.code_sha256),
        "CodeSize": layer.content.code_size,
    }
    if layer.content.signing_profile_version_arn is not None:
        content["SigningProfileVersionArn"] = layer.content.signing_profile_version_arn
    return {**_item(layer), "LayerArn": layer.layer_arn, "Content": content}


def _not_found() -> AwsError:
    return AwsError("ResourceNotFoundException", "The resource you requested does not exist.", 404)


async def publish_layer_version(call: Call, params: dict[str, Any]) -> Output:
    content = params.get("Content") or {}
    if content.get("ZipFile") is None:
        other = next((k for k in ("S3Bucket", "S3Key") if content.get(k)), None)
        what = f"{other} is not supported: " if other else ""
        raise AwsError(
            "InvalidParameterValueException", f"{what}Stepline takes a layer's content as ZipFile."
        )
    body = schemas.LayerPublish(
        content=FunctionCode(zip_file=content["ZipFile"]), description=params.get("Description") or "",
        compatible_runtimes=params.get("CompatibleRuntimes") or [],
        compatible_architectures=params.get("CompatibleArchitectures") or [],
        license_info=params.get("LicenseInfo"),
    )  # fmt: skip
    async with call.session() as session:
        published = await use_cases.publish(
            session, call.runtime.code, _name(params["LayerName"]), body, call.region
        )
    return _version(published)


async def _get(call: Call, name: str, version: int) -> Output:
    async with call.session() as session:
        try:
            return _version(await use_cases.get_version(session, name, version, call.region))
        except registry.LayerVersionNotFound:
            raise _not_found() from None


async def get_layer_version(call: Call, params: dict[str, Any]) -> Output:
    return await _get(call, _name(params["LayerName"]), int(params["VersionNumber"]))


async def get_layer_version_by_arn(call: Call, params: dict[str, Any]) -> Output:
    found = use_cases.LAYER_VERSION_ARN.fullmatch(params["Arn"])
    if found is None:
        raise AwsError("InvalidParameterValueException", f"Invalid layer version ARN: {params['Arn'][:200]}")
    return await _get(call, found[1], int(found[2]))


def _page(params: dict[str, Any], items: list[Any], kind: str) -> tuple[list[Any], str | None]:
    limit = min(params.get("MaxItems") or PAGE, PAGE)
    start = decode_token(kind, params["Marker"]).get("at") if params.get("Marker") else 0
    if not isinstance(start, int) or start < 0:
        raise AwsError("InvalidParameterValueException", "Marker is not a marker this API issued.")
    marker = encode_token(kind, {"at": start + limit}) if start + limit < len(items) else None
    return items[start : start + limit], marker


async def list_layers(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        found = await use_cases.list_latest(
            session, call.region, params.get("CompatibleRuntime"), params.get("CompatibleArchitecture")
        )
    page, marker = _page(params, found.layer_versions, "layers")
    layers = [
        {"LayerName": v.layer_name, "LayerArn": v.layer_arn, "LatestMatchingVersion": _item(v)} for v in page
    ]
    return {"Layers": layers, "NextMarker": marker}


async def list_layer_versions(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        found = await use_cases.list_versions(
            session, _name(params["LayerName"]), call.region, params.get("CompatibleRuntime"),
            params.get("CompatibleArchitecture"),
        )  # fmt: skip
    page, marker = _page(params, found.layer_versions, "layer-versions")
    return {"LayerVersions": [_item(v) for v in page], "NextMarker": marker}


async def delete_layer_version(call: Call, params: dict[str, Any]) -> Output:
    """204 whether or not the version exists, as Lambda; functions using it keep running it."""
    async with call.session() as session:
        await use_cases.delete_version(session, _name(params["LayerName"]), int(params["VersionNumber"]))
    return None


def _precondition_failed(exc: permissions.LayerRevisionMismatch) -> AwsError:
    return AwsError("PreconditionFailedException", exc.detail, 412)


async def add_layer_version_permission(call: Call, params: dict[str, Any]) -> Output:
    body = schemas.LayerPermissionAdd(
        statement_id=params["StatementId"], action=params["Action"], principal=params["Principal"],
        organization_id=params.get("OrganizationId"), revision_id=params.get("RevisionId"),
    )  # fmt: skip
    async with call.session() as session:
        try:
            added = await layer_permissions.add_permission(
                session, _name(params["LayerName"]), int(params["VersionNumber"]), body, call.region
            )
        except registry.LayerVersionNotFound:
            raise _not_found() from None
        except permissions.LayerRevisionMismatch as exc:
            raise _precondition_failed(exc) from None
    return {"Statement": added.statement, "RevisionId": added.revision_id}


async def get_layer_version_policy(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        try:
            policy = await layer_permissions.get_policy(
                session, _name(params["LayerName"]), int(params["VersionNumber"])
            )
        except registry.LayerVersionNotFound:
            raise _not_found() from None
    return {"Policy": policy.policy, "RevisionId": policy.revision_id}


async def remove_layer_version_permission(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        try:
            await layer_permissions.remove_permission(
                session, _name(params["LayerName"]), int(params["VersionNumber"]), params["StatementId"],
                params.get("RevisionId"),
            )  # fmt: skip
        except registry.LayerVersionNotFound:
            raise _not_found() from None
        except permissions.LayerRevisionMismatch as exc:
            raise _precondition_failed(exc) from None
    return None


OPERATIONS: dict[str, Operation] = {
    "AddLayerVersionPermission": add_layer_version_permission,
    "GetLayerVersionPolicy": get_layer_version_policy,
    "RemoveLayerVersionPermission": remove_layer_version_permission,
    "PublishLayerVersion": publish_layer_version,
    "GetLayerVersion": get_layer_version,
    "GetLayerVersionByArn": get_layer_version_by_arn,
    "ListLayers": list_layers,
    "ListLayerVersions": list_layer_versions,
    "DeleteLayerVersion": delete_layer_version,
}
