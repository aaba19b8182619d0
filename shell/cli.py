"""The ``stepline`` command. Each sub-command imports its implementation lazily, so ``--help`` is fast.

The imports inside the commands are there on purpose: ``stepline --help`` imports this module alone
(0.3 s); importing every command's implementation (the API, the runtime, the registry, pydantic
settings) would take 3 to 7 s before anything is printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Stepline: ASL state machines on Temporal with sandboxed functions.", no_args_is_help=True
)
db_app = typer.Typer(help="The registry database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
keys_app = typer.Typer(help="Access keys for the AWS SDKs and CLI (SigV4).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
images_app = typer.Typer(help="Container images for functions (PackageType Image).", no_args_is_help=True)
app.add_typer(images_app, name="images")
functions_app = typer.Typer(help="Functions: start one from a blueprint.", no_args_is_help=True)
app.add_typer(functions_app, name="functions")


@app.command()
def conformance(
    directory: Annotated[Path, typer.Argument(help="A directory of conformance cases (*.json).")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    only: Annotated[str | None, typer.Option(help="Run only cases whose id contains this text.")] = None,
    quiet: Annotated[bool, typer.Option(help="Do not print each failing case's difference.")] = False,
    api_url: Annotated[
        str | None, typer.Option("--api", help="Run end to end through the Stepline API at this URL.")
    ] = None,
    aws_url: Annotated[
        str | None,
        typer.Option(
            "--aws", help="Run end to end through the Step Functions endpoint at this URL, with boto3."
        ),
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="STEPLINE_API_TOKEN", help="Bearer token for --api.")
    ] = None,
) -> None:
    """Run ASL conformance cases through the local host (or a running API) and report what differs."""
    from shell.conformance.cli import run_conformance

    code = run_conformance(
        directory, json_out=json_out, only=only, quiet=quiet, api_url=api_url, aws_url=aws_url, token=token
    )
    raise typer.Exit(code)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="State-machine definitions (ASL JSON files).")],
) -> None:
    """Check definitions as the API does, without any service: every problem, with its location.

    Exit status 0 when none has an error, 1 when one has, 2 when a file cannot be read.
    """
    from shell.validate_files import validate_files

    raise typer.Exit(validate_files(files))


@app.command()
def dev(
    temporal_port: Annotated[
        int | None, typer.Option(help="Port of the embedded Temporal server (default: 7233).")
    ] = None,
) -> None:
    """Start everything on this machine: PostgreSQL, Temporal, migrations, the API and a worker.

    Data lives in STEPLINE_DATA_DIR (./.stepline); the API port is STEPLINE_API__PORT (8000).

    Refused without bubblewrap, beyond loopback without STEPLINE_API_TOKEN, or on a data directory in use.
    Servers a killed stepline dev left running are stopped first.
    """
    from shell.dev import run_dev

    run_dev(temporal_port=temporal_port)


@app.command()
def api() -> None:
    """Run the HTTP API alone (against STEPLINE_DATABASE_URL and STEPLINE_TEMPORAL_ADDRESS).

    It runs no functions: invocations go to the live workers (stepline worker), which share its
    database, data directory (function code) and STEPLINE_SECRET_KEY.
    Refused beyond loopback without STEPLINE_API_TOKEN.
    """
    from api.server import serve

    serve()


@app.command()
def worker() -> None:
    """Run a worker alone: state machine workflows, activities, the function runtime and the endpoint
    through which stepline api hands it invocations (a Unix socket; STEPLINE_WORKER__LISTEN adds TCP).

    Refused without bubblewrap (STEPLINE_SANDBOX__BWRAP_PATH, default bwrap on PATH).
    """
    from workers.main import run_worker

    run_worker()


@app.command()
def sign(
    package: Annotated[
        Path, typer.Argument(help="The deployment package (.zip).", exists=True, dir_okay=False)
    ],
    key: Annotated[Path, typer.Option(help="PEM private key (Ed25519, ECDSA P-256 or RSA).", exists=True)],
    profile: Annotated[str, typer.Option(help="The signing profile version ARN (GET /v1/signing-profiles).")],
    output: Annotated[Path | None, typer.Option(help="Where to write the signed package.")] = None,
    validity_days: Annotated[
        int, typer.Option(min=1, max=135 * 30, help="Days the signature is valid.")
    ] = 135 * 30,
) -> None:
    """Sign a package's SHA-256 with a private key that never leaves this machine (docs/functions.md,
    Code signing); an encrypted key's passphrase comes from STEPLINE_SIGNING_PASSPHRASE."""
    from foundation.code_signatures import SignatureFormatError
    from shell.signing import sign_package

    target = output or package.with_name(f"{package.stem}-signed.zip")
    try:
        sign_package(package, key, profile, target, validity_days)
    except (SignatureFormatError, OSError) as exc:
        typer.echo(f"stepline sign: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(str(target))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to the registry database."""
    from foundation.db import upgrade

    upgrade()


@keys_app.command("create")
def keys_create(
    account_id: Annotated[str, typer.Option(help="The 12-digit account id of the key.")] = "000000000000",
) -> None:
    """Create an access key; its secret is shown this once (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)."""
    import asyncio

    from foundation.settings import Settings
    from shell.keys import create_key

    try:
        key_id, secret = asyncio.run(create_key(Settings(), account_id))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}")


@keys_app.command("list")
def keys_list() -> None:
    """List access keys (never their secrets): id, account, created, revoked."""
    import asyncio

    from foundation.settings import Settings
    from shell.keys import list_keys

    for key in asyncio.run(list_keys(Settings())):
        revoked = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
        typer.echo(f"{key.access_key_id}  {key.account_id}  {key.created_at.isoformat()}  {revoked}")


@keys_app.command("revoke")
def keys_revoke(access_key_id: Annotated[str, typer.Argument(help="The access key id.")]) -> None:
    """Revoke an access key: signatures made with it are refused (within 5 s in running APIs)."""
    import asyncio

    from foundation.registry.access_keys import AccessKeyNotFound
    from foundation.settings import Settings
    from shell.keys import revoke_key

    try:
        asyncio.run(revoke_key(Settings(), access_key_id))
    except AccessKeyNotFound as exc:
        typer.echo(f"stepline keys revoke: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked {access_key_id}")


@images_app.command("import")
def images_import(
    archive: Annotated[
        Path, typer.Argument(help="An OCI image layout (directory or tar) or a docker save tarball.")
    ],
    name: Annotated[
        str | None, typer.Option(help="repository:tag to name it by (default: the names the archive holds).")
    ] = None,
) -> None:
    """Import an image: its functions then name it as ImageUri (repository:tag, @sha256:..., or an
    ECR-style URI ending so). Prints its digest and names."""
    import asyncio

    from foundation.errors import InvalidRequest
    from foundation.settings import Settings
    from shell.images import import_image

    try:
        image = asyncio.run(import_image(Settings(), archive, name))
    except InvalidRequest as exc:
        typer.echo(f"stepline images import: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{image.digest}  {' '.join(image.names) or '(no name)'}  {image.size} bytes")


@functions_app.command("init")
def functions_init(
    blueprint: Annotated[
        str, typer.Option(help="The blueprint (`stepline functions blueprints` lists them).")
    ],
    directory: Annotated[
        Path | None, typer.Argument(help="Where to write its files (default: the blueprint's name).")
    ] = None,
) -> None:
    """Write a working function from a blueprint: its code and blueprint.json (runtime, handler, settings,
    a sample event), ready to deploy with POST /v1/functions or the AWS CLI."""
    from api import blueprints
    from foundation.errors import InvalidRequest, NotFound

    target = directory if directory is not None else Path(blueprint)
    try:
        written = blueprints.write(blueprint, target)
    except (InvalidRequest, NotFound) as exc:
        typer.echo(f"stepline functions init: {exc}", err=True)
        raise typer.Exit(1) from None
    for path in written:
        typer.echo(str(path))


@functions_app.command("blueprints")
def functions_blueprints() -> None:
    """List the blueprints."""
    from api import blueprints

    for name in blueprints.names():
        typer.echo(f"{name:22} {blueprints.load(name).description}")
