"""All configuration, from ``STEPLINE_*`` environment variables (nested with ``__``).

Built only in entry points (``create_app``, the worker's main, the CLI, ``migrations/env.py``);
nothing here runs at import time.
"""

from __future__ import annotations

from datetime import timedelta
from ipaddress import IPv4Network
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class TemporalSettings(BaseModel):
    """Where Temporal runs. ``address`` None means: start the embedded dev server (``stepline dev``)."""

    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "stepline"
    ui_port: int = 8233
    workflow_sandbox: bool = False
    """Run workflows in Temporal's sandbox (slower; see ``workers.worker.workflow_runner``)."""
    workflow_task_timeout_seconds: float = Field(default=30.0, ge=1.0, le=120.0)
    """Temporal's workflow task timeout for the executions started: how long a Task running as a
    local activity on a worker that died waits before another worker runs it again. 30 s leaves room
    for local activities' heartbeats on a busy machine; Temporal's own default is 10 s."""

    @property
    def workflow_task_timeout(self) -> timedelta:
        return timedelta(seconds=self.workflow_task_timeout_seconds)


class DatabaseSettings(BaseModel):
    """The registry's PostgreSQL (SQLAlchemy URL with the asyncpg driver)."""

    url: SecretStr = SecretStr("postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    pool_size: int = 10


class ApiSettings(BaseModel):
    """The HTTP API. Listening beyond loopback requires ``token``."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: SecretStr | None = None
    key_cache_seconds: float = 5.0
    """How long each API process caches access keys, and whether any exists: a revoked key stops
    working within this time."""


class SandboxSettings(BaseModel):
    """Function sandboxes (bubblewrap)."""

    bwrap_path: str = "bwrap"
    max_environments: int = 64
    """Overall cap on execution environments across all functions."""
    idle_seconds: float = 300.0
    """Idle environments are shut down after this long."""
    prepared_idle_seconds: float = Field(default=3600.0, gt=0)
    """A prepared environment (container-image functions: Lambda's proactive initialization) is shut
    down after this long unclaimed, so that a cold start after ``idle_seconds`` still finds one. It is
    frozen meanwhile (no CPU) and within the pool's bounds (``workers/functions/spares.py``)."""
    spare_environments: int = 2
    """Generic sandboxes kept started per runtime for cold starts (Python's always, Node.js's once
    a Node.js function ran; 0 disables; needs cgroups)."""
    provision_check_seconds: float = 10.0
    """How often each process brings its provisioned environments in line with the registry
    (a change made through another process, a new revision)."""
    network_deny: list[IPv4Network] = [
        IPv4Network(cidr) for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                       "224.0.0.0/4", "240.0.0.0/4")
    ]  # fmt: skip
    """What a function with ``network: true`` cannot reach (JSON list of IPv4 ranges): private,
    carrier-grade NAT, multicast and reserved ranges. Loopback, link-local (cloud metadata) and the
    host's own addresses are denied whatever this says; see docs/functions.md."""
    api_url: str | None = None
    """Where the calls of functions with ``awsApi`` go, through their worker: the API's URL as this
    worker reaches it (``http(s)://host:port``). None: the API's own ``host`` and ``port`` (loopback
    when it listens on every interface), as in ``stepline dev``."""


class WorkerSettings(BaseModel):
    """``stepline worker``'s invoke endpoint, through which ``stepline api`` processes hand it direct
    invocations. It always listens on a Unix socket (APIs on the same machine); ``listen`` adds TCP."""

    listen: str | None = None
    """``HOST:PORT`` to listen on for APIs on other machines (authenticated with a key derived from
    ``secret_key``, not encrypted: keep it on a private network); None: the Unix socket only."""
    advertise: str | None = None
    """``HOST:PORT`` the APIs dial (default: ``listen``; set it when listening on 0.0.0.0)."""
    express_lease_seconds: float = 30.0
    """How long an asynchronous Express execution stays with the worker running it without a renewal:
    after a crash of that worker, how soon another one runs it again (renewed every third of it)."""
    express_heartbeat_seconds: float = Field(default=10.0, gt=0)
    """Heartbeat timeout of the activity running a chunk of a Distributed Map's EXPRESS child
    executions: after a crash of its worker, how soon the chunk runs again on another one. Taken by
    the executions started from then on (the API puts it in each one's input)."""
    metric_sample_seconds: float = Field(default=10.0, ge=0.1, le=3600.0)
    """How often a process running functions writes its error and throttle counts to the registry
    (the console's charts and ``/v1/functions/{name}/metrics``)."""


class ServiceEndpointSettings(BaseModel):
    """Where one service's calls from Task states go (``workers/integrations``)."""

    url: str | None = None
    """The endpoint (``http://127.0.0.1:4566``, a MinIO, an ElasticMQ); None: AWS's own for ``region``."""
    region: str | None = None
    """The region to sign for (default: Stepline's)."""
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None


class IntegrationSettings(BaseModel):
    """Service integrations of Task states (``STEPLINE_INTEGRATIONS__*``); endpoints stored through
    ``/v1/service-endpoints`` take precedence over these."""

    endpoints: dict[str, ServiceEndpointSettings] = {}
    """By botocore service name (``dynamodb``, ``s3``, ``sqs``, ``sns``, ``events``; ``*`` for every
    other), JSON: ``{"dynamodb": {"url": "http://127.0.0.1:8001", "access_key_id": ...}}``."""
    http_allowed_hosts: list[str] = ["127.0.0.1", "localhost", "::1"]
    """Hosts the HTTP Task (``http:invoke``) may call, by name or address (``*.example.com`` matches
    subdomains); loopback only by default."""
    timeout_seconds: float = 60.0
    """How long one call may take when its Task sets no TimeoutSeconds."""


class EventSourceSettings(BaseModel):
    """Event source mappings (``STEPLINE_EVENT_SOURCES__*``): the brokers mappings read from. A mapping
    names a queue or a stream, never a broker address: tenants reach only the brokers listed here."""

    rabbitmq_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    nats_url: SecretStr = SecretStr("nats://127.0.0.1:4222")
    lease_seconds: float = 10.0
    """How long a worker leads a mapping without renewing (another worker takes over after it)."""
    scan_seconds: float = 2.0
    """How often a worker looks for mappings to lead (and for changes to the ones it leads)."""
    restart_pause_seconds: float = 5.0
    """How long a poller whose source failed (unreachable, a lost connection) waits before it starts again."""
    fs_rescan_seconds: float = 30.0
    """How often a file-system source scans without a word from inotify (it scans at once on one)."""
    fs_max_objects: int = 100_000
    """The most objects one file-system mapping watches (a scan past it reports a problem)."""
    fs_max_watches: int = 1024
    """The most directories one file-system mapping watches with inotify (the rest: rescans only)."""
    allowed_hosts: list[str] = ["127.0.0.1", "localhost", "::1"]
    """Broker hosts a mapping may name in a URI of its own (``SelfManagedEventSource``), by name or
    address as written (``*.example.com`` matches subdomains); loopback only by default, ``[]``: none
    (mappings then read only the brokers above)."""
    source_names: list[str] = ["*"]
    """Patterns (``fnmatch``) every queue or stream a mapping names must match, on any broker: e.g.
    ``["app-*"]`` keeps mappings away from the brokers' other queues and streams."""


class Settings(BaseSettings):
    """Stepline's settings; see README.md for every variable."""

    model_config = SettingsConfigDict(env_prefix="STEPLINE_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path(".stepline")
    region: str = "us-east-1"
    """The region in every ARN Stepline shows (state machines, executions, functions)."""
    temporal: TemporalSettings = TemporalSettings()
    database: DatabaseSettings = DatabaseSettings()
    api: ApiSettings = ApiSettings()
    sandbox: SandboxSettings = SandboxSettings()
    worker: WorkerSettings = WorkerSettings()
    integrations: IntegrationSettings = IntegrationSettings()
    event_sources: EventSourceSettings = EventSourceSettings()
    secret_key: SecretStr | None = None
    """Seals stored secrets (db proxy target URLs); None: a key file in ``data_dir`` (one machine)."""
    mock_config_file: Path | None = None
    """A MockConfigFile (Step Functions Local's format) for executions started as
    ``stateMachineArn#TestCase``, read at each start; test cases are looked up first in the one
    loaded through ``PUT /v1/mock-configuration``."""
    file_system_roots: list[Path] = []
    """Host directories an operator allows file systems to live in (besides ``data_dir``)."""
    api_token: SecretStr | None = None
    """Shortcut for ``STEPLINE_API__TOKEN`` (``STEPLINE_API_TOKEN``)."""
    temporal_address: str | None = None
    """Shortcut for ``STEPLINE_TEMPORAL__ADDRESS`` (``STEPLINE_TEMPORAL_ADDRESS``)."""
    database_url: SecretStr | None = None
    """Shortcut for ``STEPLINE_DATABASE__URL`` (``STEPLINE_DATABASE_URL``)."""

    def model_post_init(self, __context: object) -> None:
        """Fold the flat shortcuts into their nested models."""
        if self.temporal_address:
            self.temporal.address = self.temporal_address
        if self.database_url is not None:
            self.database.url = self.database_url
        if self.api_token is not None:
            self.api.token = self.api_token
