"""Request and response bodies for functions (camelCase JSON, Lambda's field names where it has them)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from api.schemas import Schema

FUNCTION_NAME = r"^[A-Za-z0-9_-]{1,64}$"
ENV_KEY = r"^[A-Za-z][A-Za-z0-9_]*$"
AWS_API_VARIABLE = "STEPLINE_AWS_API"
"""How the Lambda API spells ``awsApi``: a variable ``true`` or ``false`` (``api.aws.lambda_config``)."""
RESERVED_ENV = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", AWS_API_VARIABLE,
    }
)  # fmt: skip
"""Variables Lambda reserves (and Stepline's ``AWS_API_VARIABLE``): a function may not set them."""
Runtime = Literal["python3.11", "nodejs20", "provided"]


class FunctionCode(Schema):
    """Exactly one of a base64 zip archive or a map of file names to their text."""

    zip_file: str | None = None
    files: dict[str, str] | None = None
    image_uri: str | None = Field(default=None, min_length=1, max_length=512)
    """A container image imported into Stepline (``/v1/images``): ``repository:tag``,
    ``repository@sha256:...`` or an ECR-style URI naming one (``packageType: Image``)."""

    @model_validator(mode="after")
    def _one_of(self) -> FunctionCode:
        if sum(v is not None for v in (self.zip_file, self.files, self.image_uri)) != 1:
            raise ValueError("give exactly one of zipFile (base64), files ({name: text}) or imageUri")
        if self.files is not None and not self.files:
            raise ValueError("files is empty")
        return self


def _check_environment(env: dict[str, str] | None) -> dict[str, str] | None:
    if env is None:
        return env
    for key in env:
        if not re.match(ENV_KEY, key):
            raise ValueError(f"environment variable name {key!r} must match {ENV_KEY}")
        if key in RESERVED_ENV:
            raise ValueError(f"environment variable {key} is reserved")
    size = sum(len(k) + len(v) for k, v in env.items())
    if size > 4096:
        raise ValueError(f"environment variables take {size} bytes; the limit is 4096")
    return env


class FunctionConfigFields(Schema):
    """Configuration shared by create and update (all optional for update)."""

    handler: str | None = Field(default=None, min_length=1, max_length=128)
    memory_size: int | None = Field(default=None, ge=128, le=10240)
    timeout: int | None = Field(default=None, ge=1, le=900)
    environment: dict[str, str] | None = None
    ephemeral_storage: int | None = Field(default=None, ge=512, le=10240)
    """/tmp size in MB."""
    description: str | None = Field(default=None, max_length=256)
    network: bool | None = None
    """Give the function egress to outside hosts, not the host's services (off by default)."""
    aws_api: bool | None = None
    """Let the function call this Stepline's AWS APIs (AWS_ENDPOINT_URL and short-lived credentials
    in its sandbox; off by default)."""
    file_system_configs: list[dict[str, Any]] | None = None
    db_proxies: list[str] | None = None
    layers: list[str] | None = None
    """Layer version ARNs (at most 5), merged in order under /opt; ``[]`` removes them."""

    _env = field_validator("environment")(_check_environment)


class ImageConfig(Schema):
    """Lambda's ImageConfig: what overrides the image's ENTRYPOINT, CMD and WORKDIR."""

    entry_point: list[str] | None = Field(default=None, max_length=1500)
    command: list[str] | None = Field(default=None, max_length=1500)
    working_directory: str | None = Field(default=None, min_length=1, max_length=1000)

    def lambda_form(self) -> dict[str, Any]:
        """The overrides as the registry keeps them (Lambda's member names)."""
        names = {"entry_point": "EntryPoint", "command": "Command", "working_directory": "WorkingDirectory"}
        return {names[k]: v for k, v in self.model_dump(exclude_none=True).items()}


class FunctionCreate(FunctionConfigFields):
    name: str = Field(pattern=FUNCTION_NAME)
    runtime: Runtime | None = None
    """Required for a Zip package; none for an Image."""
    handler: str | None = Field(default=None, min_length=1, max_length=128)
    code: FunctionCode
    code_signing_config_arn: str | None = Field(default=None, max_length=200)
    """A code-signing configuration the code must satisfy, now and on every code update."""
    package_type: Literal["Zip", "Image"] = "Zip"
    image_config: ImageConfig | None = None

    @model_validator(mode="after")
    def _package(self) -> FunctionCreate:
        if self.package_type == "Image":
            if self.code.image_uri is None:
                raise ValueError("packageType Image takes its code as code.imageUri")
            if self.runtime is not None or self.handler is not None:
                raise ValueError("an Image function has no runtime or handler (the image says what runs)")
        elif self.code.image_uri is not None:
            raise ValueError("code.imageUri needs packageType Image")
        elif self.runtime is None or self.handler is None:
            raise ValueError("a Zip function needs a runtime and a handler")
        elif self.image_config is not None:
            raise ValueError("imageConfig is for packageType Image")
        return self


class FunctionUpdate(FunctionConfigFields):
    runtime: Runtime | None = None
    code: FunctionCode | None = None
    image_config: ImageConfig | None = None
    """An Image function's new ImageConfig (replaces the old one)."""


class FunctionPublic(Schema):
    function_name: str
    function_arn: str
    runtime: str
    handler: str
    version: str
    code_sha256: str
    code_size: int
    memory_size: int
    timeout: int
    ephemeral_storage: int
    environment: dict[str, str]
    description: str
    network: bool
    aws_api: bool
    file_system_configs: list[dict[str, Any]]
    db_proxies: list[str]
    layers: list[dict[str, Any]] = Field(default_factory=list)
    """The layer versions merged under /opt, in order: ``{"arn", "sha256", "size", "unzippedSize"}``."""
    signing_profile_version_arn: str | None = None
    """The signing profile the code's verified signature names (code signing)."""
    package_type: str = "Zip"
    image_uri: str | None = None
    image_config: dict[str, Any] = Field(default_factory=dict)
    """Lambda's ImageConfig overrides (EntryPoint, Command, WorkingDirectory) of an Image function."""
    reserved_concurrency: int | None = None
    provisioned_concurrency: int = 0
    revision_id: str | None = None
    last_modified: datetime
    preparing: str | None = None
    """``Creating`` or ``Updating`` while the environment this deployment's first cold start takes
    is being prepared (image functions; Lambda's Pending state, LastUpdateStatus InProgress)."""


class FunctionList(Schema):
    functions: list[FunctionPublic]
    next_token: str | None = None


class PublishVersion(Schema):
    description: str | None = Field(default=None, max_length=256)


class VersionList(Schema):
    versions: list[FunctionPublic]


class ConcurrencyUpdate(Schema):
    reserved: int | None = Field(default=None, ge=0, le=100_000)
    """None removes the reservation; 0 throttles every invocation."""
    provisioned: int = Field(default=0, ge=0, le=1000)


class Concurrency(Schema):
    reserved: int | None
    provisioned: int


class ConcurrencyInUse(Concurrency):
    in_use: int
    """Invocations of the function running now over every worker (cold starts included)."""


class LogEvent(Schema):
    timestamp: datetime
    request_id: str
    message: str


class LogList(Schema):
    events: list[LogEvent]
