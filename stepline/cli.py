"""The ``stepline`` command. Each sub-command imports its implementation lazily, so ``--help`` is fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Stepline: ASL state machines on Temporal with sandboxed functions.", no_args_is_help=True
)
db_app = typer.Typer(help="The registry database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def conformance(
    directory: Annotated[Path, typer.Argument(help="A directory of conformance cases (*.json).")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    only: Annotated[str | None, typer.Option(help="Run only cases whose id contains this text.")] = None,
    quiet: Annotated[bool, typer.Option(help="Do not print each failing case's difference.")] = False,
    api_url: Annotated[
        str | None, typer.Option("--api", help="Run end to end through the Stepline API at this URL.")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="STEPLINE_API_TOKEN", help="Bearer token for --api.")
    ] = None,
) -> None:
    """Run ASL conformance cases through the local host (or a running API) and report what differs."""
    from stepline.conformance.cli import run_conformance

    raise typer.Exit(
        run_conformance(directory, json_out=json_out, only=only, quiet=quiet, api_url=api_url, token=token)
    )


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="State-machine definitions (ASL JSON files).")],
) -> None:
    """Check definitions as the API does, without any service: every problem, with its location.

    Exit status 0 when none has an error, 1 when one has, 2 when a file cannot be read.
    """
    from stepline.validate_files import validate_files

    raise typer.Exit(validate_files(files))


@app.command()
def dev(
    temporal_port: Annotated[
        int | None, typer.Option(help="Port of the embedded Temporal server (default: 7233).")
    ] = None,
) -> None:
    """Start everything on this machine: PostgreSQL, Temporal, migrations, the API and a worker.

    Data lives in STEPLINE_DATA_DIR (./.stepline); the API port is STEPLINE_API__PORT (8000).
    """
    from stepline.dev import run_dev

    run_dev(temporal_port=temporal_port)


@app.command()
def api() -> None:
    """Run the HTTP API alone (against STEPLINE_DATABASE_URL and STEPLINE_TEMPORAL_ADDRESS)."""
    from api.server import serve

    serve()


@app.command()
def worker() -> None:
    """Run a worker alone: state machine workflows, activities and the function runtime."""
    from workers.main import run_worker

    run_worker()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to the registry database."""
    from stepline.db import upgrade

    upgrade()
