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
