"""``stepline images import``: an OCI layout directory and a docker save tar into the data directory
and the registry; a hostile archive refused with its reason, nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shell.cli import app
from tests import image_builder as build

IMAGE = build.Image(
    [build.layer_tar([build.directory("app"), build.file("app/hello", "hi")])], {"Cmd": ["/x"]}
)


@pytest.fixture
def environment(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STEPLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("STEPLINE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_an_oci_layout_directory_and_a_docker_save_tar_are_imported(
    environment: Path, tmp_path: Path
) -> None:
    layout = build.write_directory(build.layout_files(IMAGE, "cli/app:1"), tmp_path / "layout")
    done = CliRunner().invoke(app, ["images", "import", str(layout)])
    assert done.exit_code == 0, done.output
    digest, names = done.output.split()[:2]
    assert digest.startswith("sha256:") and names == "cli/app:1"
    assert (environment / "images/rootfs" / digest[7:] / "app/hello").read_text() == "hi"

    saved = build.write_tar(build.docker_save_files(IMAGE, "ignored:1"), tmp_path / "saved.tar")
    done = CliRunner().invoke(app, ["images", "import", str(saved), "--name", "cli/app:2"])
    assert done.exit_code == 0, done.output
    assert done.output.split()[1] == "cli/app:2"


def test_a_hostile_archive_is_refused_with_its_reason(environment: Path, tmp_path: Path) -> None:
    hostile = build.Image([build.layer_tar([build.file("../../etc/cron.d/evil", "* * * * * root id")])])
    saved = build.write_tar(build.docker_save_files(hostile, "evil:1"), tmp_path / "evil.tar")
    done = CliRunner().invoke(app, ["images", "import", str(saved)])
    assert done.exit_code == 1
    assert "layer 0" in done.output and "points outside the image" in done.output
    assert not list((environment / "images/rootfs").iterdir())
