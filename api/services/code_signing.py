"""Code signing use cases: signing profiles, code-signing configurations, the configuration a
function names, and the check of a package against it when a function's code is created or updated.

A package fails its check when it is unsigned, signed by a profile not among the configuration's
allowed publishers (or unknown, or revoked), or expired (past its ``expiresAt``, its profile's
validity, or its certificate's). With the policy ``Enforce`` that is a 400
``CodeVerificationFailedException`` and nothing is created; with ``Warn`` the code is deployed and a
warning logged. A signature that does not match the package (tampered) or is not the profile's key's
fails the integrity check: ``InvalidCodeSignatureException`` whatever the policy, as Lambda does.
"""

from __future__ import annotations

import base64
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from api import signing_schemas as schemas
from api.function_schemas import FunctionCode
from foundation import code_signatures
from foundation.errors import InvalidRequest
from foundation.registry import code_signing as registry
from foundation.registry import functions as function_registry
from statemachine import code_signing_config_arn, signing_profile_version_arn
from workers.functions.codestore import decode_zip, zip_files

log = logging.getLogger(__name__)
CONFIG_ARN = re.compile(r"arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:code-signing-config:(csc-[a-z0-9]{17})")
PROFILE_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:signer:[a-z0-9-]+:\d{12}:/signing-profiles/([a-zA-Z0-9_]{2,64})/(\w{10})"
)


class CodeVerificationFailed(InvalidRequest):
    """A package that fails a check under ``Enforce`` (Lambda's CodeVerificationFailedException)."""

    def __init__(self, function: str, reason: str) -> None:
        detail = f"Code verification failed for function {function}: {reason}"
        super().__init__(
            detail, [{"location": "/code", "message": detail, "code": "CodeVerificationFailedException"}]
        )


class InvalidCodeSignature(InvalidRequest):
    """A signature that fails the integrity check (Lambda's InvalidCodeSignatureException)."""

    def __init__(self, function: str, reason: str) -> None:
        detail = f"The code signature of function {function} failed the integrity check: {reason}"
        super().__init__(
            detail, [{"location": "/code", "message": detail, "code": "InvalidCodeSignatureException"}]
        )


def _invalid(location: str, message: str, code: str = "InvalidParameterValueException") -> InvalidRequest:
    return InvalidRequest(message, [{"location": location, "message": message, "code": code}])


# signing profiles (AWS Signer's; /v1 only) ------------------------------------------------------


def profile_version_arn(row: registry.SigningProfile, region: str) -> str:
    return signing_profile_version_arn(row.name, row.profile_version, region)


def public_profile(row: registry.SigningProfile, region: str) -> schemas.SigningProfilePublic:
    return schemas.SigningProfilePublic(
        name=row.name, profile_version=row.profile_version,
        profile_version_arn=profile_version_arn(row, region), public_material=row.public_material,
        signature_validity_days=row.validity_days, status=row.status, created_at=row.created_at,
    )  # fmt: skip


async def create_profile(
    session: AsyncSession, body: schemas.SigningProfileCreate, region: str
) -> schemas.SigningProfilePublic:
    try:
        code_signatures.load_public_material(body.public_material)
    except code_signatures.SignatureFormatError as exc:
        raise _invalid("/publicMaterial", str(exc)) from None
    row = await registry.create_profile(
        session, body.name, body.public_material, body.signature_validity_days
    )
    return public_profile(row, region)


async def get_profile(session: AsyncSession, name: str, region: str) -> schemas.SigningProfilePublic:
    return public_profile(await registry.get_profile(session, name), region)


async def list_profiles(session: AsyncSession, region: str) -> schemas.SigningProfileList:
    return schemas.SigningProfileList(
        profiles=[public_profile(r, region) for r in await registry.list_profiles(session)]
    )


async def revoke_profile(session: AsyncSession, name: str, region: str) -> schemas.SigningProfilePublic:
    """Signatures by a revoked profile fail the check from now on (deployed code keeps running)."""
    return public_profile(await registry.revoke_profile(session, name), region)


# code-signing configurations --------------------------------------------------------------------


def config_arn(config_id: str, region: str) -> str:
    return code_signing_config_arn(config_id, region)


def config_id_of(arn: str) -> str:
    """The id in a configuration's ARN (or the id itself, ``csc-`` and 17 characters)."""
    if re.fullmatch(r"csc-[a-z0-9]{17}", arn):
        return arn
    found = CONFIG_ARN.fullmatch(arn)
    if found is None:
        raise _invalid("/codeSigningConfigArn", f"{arn[:200]!r} is not a code signing configuration ARN")
    return found[1]


def public_config(row: registry.CodeSigningConfig, region: str) -> schemas.CodeSigningConfigPublic:
    return schemas.CodeSigningConfigPublic(
        code_signing_config_id=row.id, code_signing_config_arn=config_arn(row.id, region),
        description=row.description, allowed_publishers=list(row.allowed_profiles),
        untrusted_artifact_on_deployment=row.policy, last_modified=row.last_modified,
    )  # fmt: skip


def _check_publishers(arns: list[str]) -> None:
    for arn in arns:
        if PROFILE_ARN.fullmatch(arn) is None:
            raise _invalid("/allowedPublishers", f"{arn[:200]!r} is not a signing profile version ARN")


async def create_config(
    session: AsyncSession, body: schemas.CodeSigningConfigCreate, region: str
) -> schemas.CodeSigningConfigPublic:
    _check_publishers(body.allowed_publishers)
    row = await registry.create_config(
        session, body.description, body.allowed_publishers, body.untrusted_artifact_on_deployment
    )
    return public_config(row, region)


async def get_config(session: AsyncSession, arn: str, region: str) -> schemas.CodeSigningConfigPublic:
    return public_config(await registry.get_config(session, config_id_of(arn)), region)


async def list_configs(session: AsyncSession, region: str) -> schemas.CodeSigningConfigList:
    rows = await registry.list_configs(session)
    return schemas.CodeSigningConfigList(code_signing_configs=[public_config(r, region) for r in rows])


async def update_config(
    session: AsyncSession, arn: str, body: schemas.CodeSigningConfigUpdate, region: str
) -> schemas.CodeSigningConfigPublic:
    if body.allowed_publishers is not None:
        _check_publishers(body.allowed_publishers)
    row = await registry.update_config(
        session, config_id_of(arn), description=body.description, allowed_profiles=body.allowed_publishers,
        policy=body.untrusted_artifact_on_deployment,
    )  # fmt: skip
    return public_config(row, region)


async def delete_config(session: AsyncSession, arn: str) -> None:
    await registry.delete_config(session, config_id_of(arn))


async def functions_using(session: AsyncSession, arn: str) -> list[str]:
    config = await registry.get_config(session, config_id_of(arn))
    return await registry.functions_using(session, config.id)


async def set_function_config(session: AsyncSession, function: str, arn: str | None) -> str | None:
    """Name (or with None, remove) the configuration a function's new code must satisfy."""
    await function_registry.get_function(session, function, for_update=True)
    config_id = None
    if arn is not None:
        config_id = (await registry.get_config(session, config_id_of(arn))).id
    await registry.set_function_config(session, function, config_id)
    return config_id


async def function_config(session: AsyncSession, function: str) -> str | None:
    """The id of the configuration a function names (None: none)."""
    await function_registry.get_function(session, function)
    return await registry.function_config(session, function)


# the check --------------------------------------------------------------------------------------


async def verify(
    session: AsyncSession,
    config_id: str | None,
    code: FunctionCode,
    function: str,
    now: datetime | None = None,
) -> str | None:
    """Check a package against the configuration ``config_id`` names (nothing without one); the
    signing profile version ARN of its signature when it passes, None when it is deployed under
    ``Warn`` without passing. Raises ``CodeVerificationFailed`` or ``InvalidCodeSignature``."""
    if config_id is None:
        return None
    config = await registry.get_config(session, config_id)
    package = decode_zip(code.zip_file) if code.zip_file is not None else zip_files(code.files or {})
    try:
        signature, digest = code_signatures.read_signature(package)
    except code_signatures.SignatureFormatError as exc:
        raise InvalidCodeSignature(function, str(exc)) from None
    problem = await _problem(session, config, signature, digest, function, now or datetime.now(UTC))
    if problem is None:
        assert signature is not None
        return signature.profile
    _fail_or_warn(config, function, problem)
    return None


def _fail_or_warn(config: registry.CodeSigningConfig, function: str, problem: str) -> None:
    if config.policy == "Enforce":
        raise CodeVerificationFailed(function, problem)
    log.warning(
        "code signing (Warn) of function %s: %s; deployed anyway (code signing configuration %s)",
        function, problem, config.id,
    )  # fmt: skip


def layer_signature(package: bytes) -> dict[str, Any] | None:
    """What a layer version keeps of its zip's signature (None: unsigned): the block's fields, and
    ``digest``, the SHA-256 of the zip without it, so that the check can run when a function
    names the layer (the zip itself is not kept). A block that cannot be read is kept as an error."""
    try:
        signature, digest = code_signatures.read_signature(package)
    except code_signatures.SignatureFormatError as exc:
        return {"error": str(exc)}
    if signature is None:
        return None
    return {
        "profile": signature.profile, "sha256": signature.sha256, "signedAt": signature.signed_at.isoformat(),
        "expiresAt": signature.expires_at.isoformat(), "algorithm": signature.algorithm,
        "signature": base64.b64encode(signature.signature).decode(), "digest": digest,
    }  # fmt: skip


def _stored_signature(kept: dict[str, Any]) -> code_signatures.Signature:
    return code_signatures.Signature(
        profile=kept["profile"], sha256=kept["sha256"], signed_at=datetime.fromisoformat(kept["signedAt"]),
        expires_at=datetime.fromisoformat(kept["expiresAt"]), algorithm=kept["algorithm"],
        signature=base64.b64decode(kept["signature"]),
    )  # fmt: skip


async def verify_layers(
    session: AsyncSession,
    config_id: str | None,
    layers: list[tuple[str, dict[str, Any] | None]],
    function: str,
    now: datetime | None = None,
) -> None:
    """Check each layer version a function names (its ARN, its kept ``layer_signature``) against the
    configuration, as Lambda does: every layer of a function under code signing must be signed by an
    allowed profile. ``Enforce`` refuses the first that is not (naming it), ``Warn`` logs each;
    a layer changed after signing fails the integrity check whatever the policy."""
    if config_id is None or not layers:
        return
    config = await registry.get_config(session, config_id)
    for arn, kept in layers:
        subject = f"{function} (layer {arn})"
        if kept is not None and "error" in kept:
            raise InvalidCodeSignature(subject, str(kept["error"]))
        signature = _stored_signature(kept) if kept is not None else None
        digest = kept["digest"] if kept is not None else ""
        problem = await _problem(session, config, signature, digest, subject, now or datetime.now(UTC))
        if problem is not None:
            _fail_or_warn(config, function, f"layer {arn}: {problem.replace('code package', 'layer')}")


async def _problem(
    session: AsyncSession, config: registry.CodeSigningConfig, signature: code_signatures.Signature | None,
    digest: str, function: str, now: datetime,
) -> str | None:  # fmt: skip
    """Why the package does not pass (None when it does); integrity failures raise."""
    if signature is None:
        return "the code package is not signed"
    if signature.sha256 != digest:
        raise InvalidCodeSignature(function, "the package was modified after it was signed")
    found = PROFILE_ARN.fullmatch(signature.profile)
    profile = await session.get(registry.SigningProfile, found[1]) if found else None
    if signature.profile not in config.allowed_profiles or profile is None or found is None:
        return f"the code is signed by {signature.profile[:200]}, which is not an allowed publisher"
    if profile.profile_version != found[2] or profile.status != "Active":
        return (
            f"the signing profile {profile.name} version {found[2]} is {profile.status.lower()} or replaced"
        )
    trusted = code_signatures.load_public_material(profile.public_material)
    if not code_signatures.signature_valid(signature, trusted):
        raise InvalidCodeSignature(function, f"the signature was not made with {profile.name}'s key")
    latest = min(signature.expires_at, signature.signed_at + timedelta(days=profile.validity_days))
    if trusted.not_after is not None:
        latest = min(latest, trusted.not_after)
    if now > latest:
        return f"the signature expired at {latest.isoformat()}"
    if trusted.not_before is not None and signature.signed_at < trusted.not_before:
        return "the signature predates its certificate's validity"
    return None
