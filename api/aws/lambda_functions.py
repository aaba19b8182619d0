"""Lambda's function operations over ``api.services.functions``: create, read, list, update, delete,
publish and list versions. Each translates Lambda's members into the service's schema and the
service's view back into a ``FunctionConfiguration``; no rule is decided here."""

from __future__ import annotations

from typing import Any

from api import function_schemas as schemas
from api.aws.errors import AwsError
from api.aws.lambda_call import Call, Operation, Output, check_revision
from api.aws.lambda_config import (
    code_sha256,
    configuration,
    file_system_configs,
    function_ref,
    split_environment,
    stepline_runtime,
)
from api.aws.lambda_images import check_image_create, image_code, image_config, image_view
from api.pagination import decode_token, encode_token
from api.services import functions as use_cases
from foundation.registry import functions as registry
from foundation.registry import tags
from statemachine import function_arn
from workers.functions.images.store import ImageStore

PAGE = 50
"""Lambda's largest page of functions and versions."""

_UNSUPPORTED: dict[str, str] = {
    "DeadLetterConfig": "dead-letter queues",
    "CapacityProviderConfig": "capacity providers",
    "DurableConfig": "durable functions",
    "TenancyConfig": "tenant isolation",
    "PublishTo": "PublishTo",
}
"""Members that would change what a function does, which Stepline cannot honour: refused, not ignored."""


def _refuse_unsupported(params: dict[str, Any]) -> None:
    for member, what in _UNSUPPORTED.items():
        value = params.get(member)
        if value not in (None, [], {}, "") and not (
            member == "DeadLetterConfig" and not value.get("TargetArn")
        ):
            raise AwsError("InvalidParameterValueException", f"Stepline does not support {what} ({member}).")
    if params.get("PackageType", "Zip") not in ("Zip", "Image"):
        raise AwsError("InvalidParameterValueException", "PackageType is Zip or Image.")
    if any(a != "x86_64" for a in params.get("Architectures") or ()):
        raise AwsError(
            "InvalidParameterValueException", "Stepline runs x86_64 functions only (Architectures)."
        )
    vpc = params.get("VpcConfig") or {}
    if vpc.get("SubnetIds") or vpc.get("SecurityGroupIds"):
        raise AwsError("InvalidParameterValueException", "Stepline functions have no VPC (VpcConfig).")


def _code(code: dict[str, Any]) -> schemas.FunctionCode:
    if code.get("ZipFile") is None:
        if code.get("ImageUri"):
            raise AwsError("InvalidParameterValueException", "An ImageUri needs PackageType Image.")
        other = next((k for k in ("S3Bucket", "S3Key") if code.get(k)), None)
        what = f"{other} is not supported: " if other else ""
        raise AwsError("InvalidParameterValueException", f"{what}Stepline takes the package as ZipFile.")
    return schemas.FunctionCode(zip_file=code["ZipFile"])


async def _config_fields(call: Call, session: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Lambda's configuration members as the service's fields (only those given)."""
    fields: dict[str, Any] = {}
    simple = {
        "Handler": "handler",
        "MemorySize": "memory_size",
        "Timeout": "timeout",
        "Description": "description",
    }
    for member, field in simple.items():
        if params.get(member) is not None:
            fields[field] = params[member]
    if params.get("Runtime") is not None:
        fields["runtime"] = stepline_runtime(params["Runtime"])
    if params.get("Environment") is not None:
        variables = params["Environment"].get("Variables") or {}
        fields["environment"], fields["aws_api"] = split_environment(variables)
    if params.get("EphemeralStorage") is not None:
        fields["ephemeral_storage"] = params["EphemeralStorage"]["Size"]
    if params.get("Layers") is not None:
        fields["layers"] = params["Layers"]
    if params.get("ImageConfig") is not None:
        fields["image_config"] = image_config(params["ImageConfig"])
    if params.get("FileSystemConfigs") is not None:
        fields["file_system_configs"] = await file_system_configs(session, params["FileSystemConfigs"])
    return fields


def _render(call: Call, function: schemas.FunctionPublic) -> dict[str, Any]:
    if function.package_type == "Image":
        present = ImageStore.beside(call.runtime.code).rootfs(f"sha256:{function.code_sha256}").is_dir()
        return image_view(function, configuration(function, call.region, code_present=present))
    present = call.runtime.code.path(function.code_sha256).is_dir()
    return configuration(function, call.region, code_present=present)


async def create_function(call: Call, params: dict[str, Any]) -> Output:
    _refuse_unsupported(params)
    name, qualifier = function_ref(params["FunctionName"])
    if qualifier is not None:
        raise AwsError("InvalidParameterValueException", "A function name to create cannot have a qualifier.")
    if params.get("PackageType") == "Image":
        return await _create_image_function(call, name, params)
    if params.get("Runtime") is None:
        raise AwsError("InvalidParameterValueException", "Runtime is required for a .zip package.")
    runtime = stepline_runtime(params["Runtime"])
    tags.check_tags(params.get("Tags") or {})
    async with call.session() as session:
        fields = await _config_fields(call, session, params)
        fields.setdefault("handler", "bootstrap" if runtime == "provided" else None)
        if fields["handler"] is None:
            raise AwsError(
                "InvalidParameterValueException", f"Handler is required for the {params['Runtime']} runtime."
            )
        fields["code_signing_config_arn"] = params.get("CodeSigningConfigArn") or None
        body = schemas.FunctionCreate(name=name, code=_code(params["Code"]), **fields)
        created = await use_cases.create_function(session, call.runtime.code, body)
        await tags.tag_resource(session, function_arn(name, region=call.region), params.get("Tags") or {})
        if params.get("Publish"):
            created = await use_cases.publish_version(session, name, schemas.PublishVersion())
    call.prepare(created)
    return _render(call, created)


async def _create_image_function(call: Call, name: str, params: dict[str, Any]) -> Output:
    code = check_image_create(params)
    tags.check_tags(params.get("Tags") or {})
    async with call.session() as session:
        fields = await _config_fields(call, session, params)
        body = schemas.FunctionCreate(name=name, code=code, package_type="Image", **fields)
        latest = await use_cases.create_function(session, call.runtime.code, body)
        await tags.tag_resource(session, function_arn(name, region=call.region), params.get("Tags") or {})
        created = latest
        if params.get("Publish"):
            created = await use_cases.publish_version(session, name, schemas.PublishVersion())
    call.prepare(created, latest)
    return _render(call, created)


async def get_function(call: Call, params: dict[str, Any]) -> Output:
    name, qualifier = function_ref(params["FunctionName"], params.get("Qualifier"))
    async with call.session() as session:
        function = await use_cases.get_function(session, name, qualifier)
        found_tags = await tags.list_tags(session, function_arn(name, region=call.region))
    out: dict[str, Any] = {"Configuration": _render(call, function), "Tags": found_tags}
    if function.package_type == "Image":
        out["Code"] = image_code(function)
    if function.version == registry.LATEST and function.reserved_concurrency is not None:
        out["Concurrency"] = {"ReservedConcurrentExecutions": function.reserved_concurrency}
    return out


async def get_function_configuration(call: Call, params: dict[str, Any]) -> Output:
    name, qualifier = function_ref(params["FunctionName"], params.get("Qualifier"))
    async with call.session() as session:
        return _render(call, await use_cases.get_function(session, name, qualifier))


async def list_functions(call: Call, params: dict[str, Any]) -> Output:
    limit = min(params.get("MaxItems") or PAGE, PAGE)
    async with call.session() as session:
        page = await use_cases.list_functions(session, limit, params.get("Marker"))
        functions = []
        for function in page.functions:
            functions.append(_render(call, function))
            if params.get("FunctionVersion") == "ALL":
                versions = await use_cases.list_versions(session, function.function_name)
                functions.extend(_render(call, v) for v in versions.versions[1:])
    return {"Functions": functions, "NextMarker": page.next_token}


async def update_function_code(call: Call, params: dict[str, Any]) -> Output:
    _refuse_unsupported(params)
    name, _ = function_ref(params["FunctionName"])
    code = schemas.FunctionCode(image_uri=params["ImageUri"]) if params.get("ImageUri") else _code(params)
    async with call.session() as session:
        current = await registry.get_function(session, name, for_update=True)
        check_revision(current.revision_id, params.get("RevisionId"))
        if params.get("DryRun") and code.image_uri is None:
            stored = await use_cases.store_code(code, call.runtime.code, current.runtime, current.handler)
            preview = use_cases.public(current).model_copy(
                update={"code_sha256": stored.sha256, "code_size": stored.size}
            )
            return _render(call, preview)
        latest = await use_cases.update_function(
            session, call.runtime.code, name, schemas.FunctionUpdate(code=code)
        )
        updated = latest
        if params.get("Publish"):
            updated = await use_cases.publish_version(session, name, schemas.PublishVersion())
    call.refresh(name, retire=True, provision=True)
    call.prepare(updated, latest)
    return _render(call, updated)


async def update_function_configuration(call: Call, params: dict[str, Any]) -> Output:
    _refuse_unsupported(params)
    name, _ = function_ref(params["FunctionName"])
    async with call.session() as session:
        current = await registry.get_function(session, name, for_update=True)
        check_revision(current.revision_id, params.get("RevisionId"))
        fields = await _config_fields(call, session, params)
        body = schemas.FunctionUpdate(**fields)
        updated = await use_cases.update_function(session, call.runtime.code, name, body)
    call.refresh(name, retire=True, provision=True)
    call.prepare(updated)
    return _render(call, updated)


async def delete_function(call: Call, params: dict[str, Any]) -> Output:
    name, qualifier = function_ref(params["FunctionName"], params.get("Qualifier"))
    async with call.session() as session:
        if qualifier is None:
            await use_cases.delete_function(session, name, call.region, call.state.settings)
        else:
            await use_cases.delete_version(session, name, qualifier)
    call.refresh(name, retire=qualifier is None)
    return {"StatusCode": 204}


async def publish_version(call: Call, params: dict[str, Any]) -> Output:
    name, _ = function_ref(params["FunctionName"])
    async with call.session() as session:
        current = await registry.get_function(session, name, for_update=True)
        check_revision(current.revision_id, params.get("RevisionId"))
        expected = params.get("CodeSha256")
        if expected is not None and expected != code_sha256(current.code_sha256):
            raise AwsError(
                "InvalidParameterValueException",
                f"CodeSHA256 ({expected}) is different from current CodeSHA256 in $LATEST "
                f"({code_sha256(current.code_sha256)}). Please try again with the CodeSHA256 in $LATEST.",
            )
        body = schemas.PublishVersion(description=params.get("Description"))
        published = await use_cases.publish_version(session, name, body)
    call.prepare(published)
    return _render(call, published)


async def list_versions_by_function(call: Call, params: dict[str, Any]) -> Output:
    name, _ = function_ref(params["FunctionName"])
    limit = min(params.get("MaxItems") or PAGE, PAGE)
    start = decode_token("function-versions", params["Marker"]).get("at") if params.get("Marker") else 0
    if not isinstance(start, int) or start < 0:
        raise AwsError("InvalidParameterValueException", "Marker is not a marker this API issued.")
    async with call.session() as session:
        versions = (await use_cases.list_versions(session, name)).versions
    page = versions[start : start + limit]
    marker = (
        encode_token("function-versions", {"at": start + limit}) if start + limit < len(versions) else None
    )
    return {"Versions": [_render(call, v) for v in page], "NextMarker": marker}


OPERATIONS: dict[str, Operation] = {
    "CreateFunction": create_function,
    "GetFunction": get_function,
    "GetFunctionConfiguration": get_function_configuration,
    "ListFunctions": list_functions,
    "UpdateFunctionCode": update_function_code,
    "UpdateFunctionConfiguration": update_function_configuration,
    "DeleteFunction": delete_function,
    "PublishVersion": publish_version,
    "ListVersionsByFunction": list_versions_by_function,
}
