"""Lambda's names for Stepline's functions: runtimes, function references, access point ARNs, and the
``FunctionConfiguration`` document rendered from the service's view of a function.

Only translation lives here; every rule (limits, package checks, versions) is the services'.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from api import function_schemas as schemas
from api.aws.errors import AwsError
from foundation.registry import functions as registry
from foundation.registry import resources
from statemachine import access_point_arn as efs_access_point_arn
from statemachine import access_point_id_of, file_system_arn, function_arn, function_reference

AWS_RUNTIMES = {
    "python3.11": "python3.11",
    "nodejs20.x": "nodejs20",
    "provided": "provided",
    "provided.al2": "provided",
    "provided.al2023": "provided",
}
"""Lambda runtime identifiers Stepline runs, and the Stepline runtime each runs on."""
STEPLINE_RUNTIMES = {"python3.11": "python3.11", "nodejs20": "nodejs20.x", "provided": "provided.al2023"}
"""How a Stepline runtime is shown to Lambda clients."""


def stepline_runtime(aws_runtime: str) -> str:
    runtime = AWS_RUNTIMES.get(aws_runtime)
    if runtime is None:
        supported = ", ".join(AWS_RUNTIMES)
        raise AwsError(
            "InvalidParameterValueException",
            f"The runtime parameter of {aws_runtime} is not supported by Stepline. "
            f"Supported runtimes: {supported}",
        )
    return runtime


def function_ref(reference: str, qualifier: str | None = None) -> tuple[str, str | None]:
    """(name, qualifier) from a name, a partial or a full ARN; ``qualifier`` must agree with one in it."""
    found = function_reference(reference)
    if found is None:
        raise AwsError("InvalidParameterValueException", f"Invalid function name or ARN: {reference[:256]}")
    name, derived = found
    if derived is not None and qualifier is not None and derived != qualifier:
        raise AwsError(
            "InvalidParameterValueException",
            "The derived qualifier from the function name does not match the specified qualifier.",
        )
    return name, derived or qualifier


def not_found(region: str, name: str, qualifier: str | None = None) -> AwsError:
    return AwsError(
        "ResourceNotFoundException", f"Function not found: {function_arn(name, qualifier, region)}", 404
    )


# file systems -----------------------------------------------------------------------------------------


def access_point_id(file_system: str, access_point: str) -> str:
    """The EFS-shaped id of a Stepline access point (``fsap-`` and 17 hex digits, as Lambda's model
    requires), stable for its (file system, name)."""
    return "fsap-" + hashlib.sha256(f"{file_system}/{access_point}".encode()).hexdigest()[:17]


def access_point_arn(region: str, file_system: str, access_point: str) -> str:
    """The ARN Lambda shows for a Stepline access point."""
    return efs_access_point_arn(access_point_id(file_system, access_point), region)


async def file_system_configs(
    session: AsyncSession, configs: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Lambda's ``FileSystemConfigs`` ([{Arn, LocalMountPath}]) as Stepline's, by access point ARN."""
    if not configs:
        return []
    wanted = {}
    for config in configs:
        found = access_point_id_of(config["Arn"])
        if found is None:
            raise AwsError(
                "InvalidParameterValueException", f"Not a Stepline access point ARN: {config['Arn']}"
            )
        wanted[found] = config
    known: dict[str, tuple[str, str]] = {}
    for file_system in await resources.list_file_systems(session):
        for point in await resources.list_access_points(session, file_system.name):
            known[access_point_id(file_system.name, point.name)] = (file_system.name, point.name)
    out = []
    for ident, config in wanted.items():
        if ident not in known:
            raise AwsError(
                "InvalidParameterValueException", f"No Stepline access point has the ARN {config['Arn']}"
            )
        fs_name, point_name = known[ident]
        out.append(
            {"fileSystem": fs_name, "accessPoint": point_name, "localMountPath": config["LocalMountPath"]}
        )
    return out


def _aws_file_system_configs(region: str, configs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for config in configs:
        file_system, point = str(config.get("fileSystem", "")), config.get("accessPoint")
        arn = (
            access_point_arn(region, file_system, str(point))
            if point is not None
            else file_system_arn(file_system, region)
        )
        out.append({"Arn": arn, "LocalMountPath": str(config.get("localMountPath", ""))})
    return out


# Stepline's extensions ------------------------------------------------------------------------------


def split_environment(variables: dict[str, str]) -> tuple[dict[str, str], bool]:
    """Lambda's ``Environment.Variables`` as (the function's own variables, ``aws_api``): Stepline's
    flag travels as the variable ``STEPLINE_AWS_API`` (``true`` or ``false``), which is not stored
    as a variable and is shown again by ``configuration``."""
    own = dict(variables)
    value = own.pop(schemas.AWS_API_VARIABLE, "false")
    if value.lower() not in ("true", "false"):
        raise AwsError(
            "InvalidParameterValueException",
            f"{schemas.AWS_API_VARIABLE} must be true or false, not {value[:64]!r}.",
        )
    return own, value.lower() == "true"


def _environment(function: schemas.FunctionPublic) -> dict[str, Any] | None:
    variables = dict(function.environment)
    if function.aws_api:
        variables[schemas.AWS_API_VARIABLE] = "true"
    return {"Variables": variables} if variables else None


# FunctionConfiguration ------------------------------------------------------------------------------


def code_sha256(hex_digest: str) -> str:
    """Lambda shows the package's SHA-256 base64-encoded."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def last_modified(function: schemas.FunctionPublic) -> str:
    """Lambda's ``LastModified`` format: 2024-01-31T12:00:00.000+0000."""
    return (
        function.last_modified.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{function.last_modified.microsecond // 1000:03d}+0000"
    )


def configuration(
    function: schemas.FunctionPublic, region: str, *, code_present: bool = True
) -> dict[str, Any]:
    """The ``FunctionConfiguration`` of ``$LATEST`` or of a version.

    Stepline checks and stores a package before it answers, so a zip function is ``Active`` with its
    last update ``Successful`` at once (the SDK waiters return at their first poll); an image
    function is ``Pending`` (created) or its update ``InProgress`` while the environment its first
    cold start takes is being prepared (``preparing``); a function whose stored package has gone
    missing is ``Failed``.
    """
    qualified = function.version != registry.LATEST
    state: dict[str, Any] = {"State": "Active", "LastUpdateStatus": "Successful"}
    if function.preparing == "Creating":
        reason = "The function is being created."
        state = {
            "State": "Pending", "StateReason": reason, "StateReasonCode": "Creating",
            "LastUpdateStatus": "InProgress", "LastUpdateStatusReason": reason,
        }  # fmt: skip
    elif function.preparing == "Updating":
        reason = "The function is being updated."
        state = {"State": "Active", "LastUpdateStatus": "InProgress", "LastUpdateStatusReason": reason}
    if not code_present:
        reason = "The function's code package is missing from the Stepline code store."
        state = {
            "State": "Failed", "StateReason": reason, "StateReasonCode": "InternalError",
            "LastUpdateStatus": "Failed", "LastUpdateStatusReason": reason,
            "LastUpdateStatusReasonCode": "InternalError",
        }  # fmt: skip
    return {
        "FunctionName": function.function_name,
        "FunctionArn": function_arn(function.function_name, function.version if qualified else None, region),
        "Runtime": STEPLINE_RUNTIMES.get(function.runtime, function.runtime),
        "Handler": function.handler,
        "CodeSize": function.code_size,
        "Description": function.description,
        "Timeout": function.timeout,
        "MemorySize": function.memory_size,
        "LastModified": last_modified(function),
        "CodeSha256": code_sha256(function.code_sha256),
        "Version": function.version,
        "Environment": _environment(function),
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": function.revision_id,
        "FileSystemConfigs": _aws_file_system_configs(region, function.file_system_configs) or None,
        "Layers": [{"Arn": layer["arn"], "CodeSize": layer["size"]} for layer in function.layers] or None,
        "SigningProfileVersionArn": function.signing_profile_version_arn,
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": function.ephemeral_storage},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function.function_name}"},
        **state,
    }
