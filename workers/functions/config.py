"""What one execution environment needs to know about the function it runs.

A ``FunctionConfig`` is resolved once per function version (from the registry) and then travels
through the pool unchanged: environments built from one config are interchangeable, and a changed
config (new ``revision``) gets new environments while the old ones drain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from statemachine import DEFAULT_REGION, ArnError, FunctionCall, function_arn, parse_function_ref
from workers.functions.images.run import ImageRun

RUNTIMES = ("python3.11", "nodejs20", "provided")
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
"""Lambda's synchronous request and response limit (6 MB)."""


@dataclass(frozen=True, slots=True)
class FunctionConfig:
    """One runnable function version."""

    name: str
    runtime: str
    handler: str
    code_dir: Path
    """Unpacked code, bound read-only at /var/task."""
    version: str = "$LATEST"
    memory_mb: int = 128
    timeout_seconds: float = 3.0
    environment: Mapping[str, str] = field(default_factory=dict)
    tmp_mb: int = 512
    network: bool = False
    """Egress to outside hosts, never to the host's services (off: only the sandbox's own loopback);
    see docs/functions.md, Network."""
    aws_api: bool = False
    """This Stepline's AWS APIs at AWS_ENDPOINT_URL with per-invocation credentials (``aws_api``)."""
    file_system_configs: Sequence[Mapping[str, Any]] = ()
    db_proxies: Sequence[str] = ()
    reserved_concurrency: int | None = None
    """None: unreserved; 0: every invocation is throttled."""
    provisioned_concurrency: int = 0
    region: str = DEFAULT_REGION
    """``Settings.region``: the function's ARN and its AWS_REGION."""
    layer_dirs: tuple[Path, ...] = ()
    """The unpacked layer versions merged in order under /opt (``workers.functions.layers``)."""
    image: ImageRun | None = None
    """A container-image function: ``code_dir`` is the image's root file system, bound read-only as
    the sandbox's root, and this says what runs in it (``workers.functions.images``)."""
    revision: str = field(init=False, repr=False, compare=False)
    """A digest of everything that shapes an environment; environments are reused only within one.
    Computed once: the pool compares it on every invocation."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "revision", self._digest())

    def _digest(self) -> str:
        doc = {
            "runtime": self.runtime,
            "handler": self.handler,
            "code": str(self.code_dir),
            "memory": self.memory_mb,
            "timeout": self.timeout_seconds,
            "env": dict(self.environment),
            "tmp": self.tmp_mb,
            "network": self.network,
            "aws_api": self.aws_api,
            "fs": [dict(c) for c in self.file_system_configs],
            "db": list(self.db_proxies),
            "layers": [str(p) for p in self.layer_dirs],
        }
        if self.image is not None:
            doc["image"] = [list(self.image.command), self.image.working_directory, self.image.environment]
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def arn(self) -> str:
        return function_arn(self.name, region=self.region)

    def attachment_config(self) -> dict[str, Any]:
        """The configuration as ``workers.attachments.resolve_attachments`` reads it."""
        return {
            "FunctionName": self.name,
            "fileSystemConfigs": [dict(c) for c in self.file_system_configs],
            "dbProxies": list(self.db_proxies),
        }


def invoked_arn(config: FunctionConfig, call: FunctionCall) -> str:
    """The ARN the caller invoked (Lambda-Runtime-Invoked-Function-Arn): qualified when the caller
    named a version (``name:3``, ``...:function:name:$LATEST``), as Lambda's is."""
    try:
        _, qualifier = parse_function_ref(call.function)
    except ArnError:
        qualifier = None
    return function_arn(config.name, qualifier, config.region)
