"""Lambda's code-signing operations over ``api.services.code_signing``: configurations and the one a
function names. (Signing profiles are AWS Signer's, a service of its own: Stepline serves them on
``/v1/signing-profiles`` only.) Translation only."""

from __future__ import annotations

from typing import Any

from api import signing_schemas as schemas
from api.aws.errors import AwsError
from api.aws.lambda_call import Call, Operation, Output
from api.aws.lambda_config import function_ref
from api.pagination import decode_token, encode_token
from api.services import code_signing as use_cases
from foundation.registry import code_signing as registry
from statemachine import function_arn

PAGE = 50


def _document(config: schemas.CodeSigningConfigPublic) -> dict[str, Any]:
    modified = config.last_modified
    return {
        "CodeSigningConfig": {
            "CodeSigningConfigId": config.code_signing_config_id,
            "CodeSigningConfigArn": config.code_signing_config_arn,
            "Description": config.description,
            "AllowedPublishers": {"SigningProfileVersionArns": config.allowed_publishers},
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": config.untrusted_artifact_on_deployment},
            "LastModified": modified.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{modified.microsecond // 1000:03d}+0000",
        }
    }


def _policy(params: dict[str, Any]) -> str | None:
    policies = params.get("CodeSigningPolicies")
    return None if policies is None else policies.get("UntrustedArtifactOnDeployment") or "Warn"


def _not_found(arn: str) -> AwsError:
    return AwsError(
        "ResourceNotFoundException", f"The code signing configuration cannot be found: {arn[:200]}", 404
    )


async def create_code_signing_config(call: Call, params: dict[str, Any]) -> Output:
    body = schemas.CodeSigningConfigCreate(
        description=params.get("Description") or "",
        allowed_publishers=params["AllowedPublishers"]["SigningProfileVersionArns"],
        untrusted_artifact_on_deployment=_policy(params) or "Warn",
    )
    async with call.session() as session:
        return _document(await use_cases.create_config(session, body, call.region))


async def get_code_signing_config(call: Call, params: dict[str, Any]) -> Output:
    arn = params["CodeSigningConfigArn"]
    async with call.session() as session:
        try:
            return _document(await use_cases.get_config(session, arn, call.region))
        except registry.CodeSigningConfigNotFound:
            raise _not_found(arn) from None


async def update_code_signing_config(call: Call, params: dict[str, Any]) -> Output:
    arn = params["CodeSigningConfigArn"]
    publishers = params.get("AllowedPublishers")
    body = schemas.CodeSigningConfigUpdate(
        description=params.get("Description"),
        allowed_publishers=publishers["SigningProfileVersionArns"] if publishers is not None else None,
        untrusted_artifact_on_deployment=_policy(params),
    )
    async with call.session() as session:
        try:
            return _document(await use_cases.update_config(session, arn, body, call.region))
        except registry.CodeSigningConfigNotFound:
            raise _not_found(arn) from None


async def delete_code_signing_config(call: Call, params: dict[str, Any]) -> Output:
    arn = params["CodeSigningConfigArn"]
    async with call.session() as session:
        try:
            await use_cases.delete_config(session, arn)
        except registry.CodeSigningConfigNotFound:
            raise _not_found(arn) from None
    return {}


def _page(params: dict[str, Any], items: list[Any], kind: str) -> tuple[list[Any], str | None]:
    limit = min(params.get("MaxItems") or PAGE, PAGE)
    start = decode_token(kind, params["Marker"]).get("at") if params.get("Marker") else 0
    if not isinstance(start, int) or start < 0:
        raise AwsError("InvalidParameterValueException", "Marker is not a marker this API issued.")
    marker = encode_token(kind, {"at": start + limit}) if start + limit < len(items) else None
    return items[start : start + limit], marker


async def list_code_signing_configs(call: Call, params: dict[str, Any]) -> Output:
    async with call.session() as session:
        found = (await use_cases.list_configs(session, call.region)).code_signing_configs
    page, marker = _page(params, found, "code-signing-configs")
    return {"CodeSigningConfigs": [_document(c)["CodeSigningConfig"] for c in page], "NextMarker": marker}


async def list_functions_by_code_signing_config(call: Call, params: dict[str, Any]) -> Output:
    arn = params["CodeSigningConfigArn"]
    async with call.session() as session:
        try:
            names = await use_cases.functions_using(session, arn)
        except registry.CodeSigningConfigNotFound:
            raise _not_found(arn) from None
    page, marker = _page(params, names, "csc-functions")
    return {"FunctionArns": [function_arn(n, region=call.region) for n in page], "NextMarker": marker}


def _unqualified(reference: str) -> str:
    name, qualifier = function_ref(reference)
    if qualifier is not None:
        raise AwsError("InvalidParameterValueException", "Code signing applies to the unqualified function.")
    return name


async def put_function_code_signing_config(call: Call, params: dict[str, Any]) -> Output:
    name = _unqualified(params["FunctionName"])
    async with call.session() as session:
        config_id = await use_cases.set_function_config(session, name, params["CodeSigningConfigArn"])
    assert config_id is not None
    return {"CodeSigningConfigArn": use_cases.config_arn(config_id, call.region), "FunctionName": name}


async def get_function_code_signing_config(call: Call, params: dict[str, Any]) -> Output:
    name = _unqualified(params["FunctionName"])
    async with call.session() as session:
        config_id = await use_cases.function_config(session, name)
    arn = use_cases.config_arn(config_id, call.region) if config_id else ""
    return {"CodeSigningConfigArn": arn, "FunctionName": name}


async def delete_function_code_signing_config(call: Call, params: dict[str, Any]) -> Output:
    name = _unqualified(params["FunctionName"])
    async with call.session() as session:
        await use_cases.set_function_config(session, name, None)
    return None


OPERATIONS: dict[str, Operation] = {
    "CreateCodeSigningConfig": create_code_signing_config,
    "GetCodeSigningConfig": get_code_signing_config,
    "UpdateCodeSigningConfig": update_code_signing_config,
    "DeleteCodeSigningConfig": delete_code_signing_config,
    "ListCodeSigningConfigs": list_code_signing_configs,
    "ListFunctionsByCodeSigningConfig": list_functions_by_code_signing_config,
    "PutFunctionCodeSigningConfig": put_function_code_signing_config,
    "GetFunctionCodeSigningConfig": get_function_code_signing_config,
    "DeleteFunctionCodeSigningConfig": delete_function_code_signing_config,
}
