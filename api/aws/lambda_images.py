"""Lambda's container-image members over ``api.services``: ``PackageType: Image`` with
``Code.ImageUri`` and ``ImageConfig`` on CreateFunction, UpdateFunctionCode and
UpdateFunctionConfiguration; ``ImageConfigResponse`` and the ``Code`` location in what they answer.
An ImageUri names an image imported into Stepline (``stepline images import`` or ``POST /v1/images``)."""

from __future__ import annotations

from typing import Any

from api import function_schemas as schemas
from api.aws.errors import AwsError

IMAGE_ONLY_REFUSED = ("Runtime", "Handler", "Layers")


def image_config(member: dict[str, Any]) -> schemas.ImageConfig:
    """Lambda's ImageConfig as the service's."""
    return schemas.ImageConfig(
        entry_point=member.get("EntryPoint"),
        command=member.get("Command"),
        working_directory=member.get("WorkingDirectory"),
    )


def check_image_create(params: dict[str, Any]) -> schemas.FunctionCode:
    """The code of a CreateFunction with ``PackageType: Image`` (Lambda's checks and messages)."""
    if any(params.get(member) for member in IMAGE_ONLY_REFUSED):
        raise AwsError(
            "InvalidParameterValueException",
            "Please don't provide Handler or Runtime or Layer when the intended function PackageType is "
            "Image.",
        )
    uri = (params.get("Code") or {}).get("ImageUri")
    if not uri:
        raise AwsError("InvalidParameterValueException", "Please provide ImageUri when PackageType is Image.")
    return schemas.FunctionCode(image_uri=uri)


def image_view(function: schemas.FunctionPublic, out: dict[str, Any]) -> dict[str, Any]:
    """A FunctionConfiguration as Lambda shows an Image function's: no runtime, handler or layers."""
    if function.package_type != "Image":
        return out
    for member in ("Runtime", "Handler", "Layers"):
        out.pop(member, None)
    out["PackageType"] = "Image"
    if function.image_config:
        out["ImageConfigResponse"] = {"ImageConfig": function.image_config}
    return out


def image_code(function: schemas.FunctionPublic) -> dict[str, Any]:
    """GetFunction's ``Code`` of an Image function: where its image is, resolved to a digest."""
    uri = function.image_uri or ""
    repository = (
        uri.split("@", 1)[0].rsplit(":", 1)[0] if ":" in uri.rsplit("/", 1)[-1] else uri.split("@")[0]
    )
    return {
        "RepositoryType": "ECR",
        "ImageUri": uri,
        "ResolvedImageUri": f"{repository}@sha256:{function.code_sha256}",
    }
