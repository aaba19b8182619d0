"""Images stored content-addressed under the data directory (``images/``).

``blobs/sha256/<hex>``: manifests, configurations and layers, each verified against its digest as
it is copied in, stored once whatever number of images share it. ``rootfs/<manifest hex>/``: the
image's layers applied once (``layers``), which sandboxes bind read-only as their root. Importing
is all or nothing: a refused layer leaves no root file system and none of the blobs it added (imports
take turns, across processes, so that none counts on a blob a failing one removes).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from workers.functions.codestore import CodeStore
from workers.functions.images import layers, manifests
from workers.functions.images.run import ImageRun, image_run
from workers.functions.images.sources import InvalidImage, Source, open_source

CHUNK = 1024 * 1024
MAX_CONFIG_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImportedImage:
    digest: str
    """``sha256:<hex>`` of the image's manifest: what it is named by."""
    layers: tuple[str, ...]
    size: int
    """Bytes of its configuration and (compressed) layers."""
    references: tuple[str, ...]
    config: dict[str, Any] = field(repr=False)


class ImageStore:
    """The ``images/`` directory of the data directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def beside(cls, code: CodeStore) -> ImageStore:
        """The image store of the data directory whose ``code/`` is ``code`` (``images/`` beside it)."""
        return cls(code.root.parent / "images")

    def private_root(self) -> None:
        """``images/`` is the worker's alone (0700): sandboxes bind staged hard links of a root file
        system, never a path in here, and blobs are nobody else's to read."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)

    def blob(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / manifests.hex_of(digest, "blob")

    def rootfs(self, digest: str) -> Path:
        return self.root / "rootfs" / manifests.hex_of(digest, "image")

    def import_archive(self, path: Path, reference: str | None = None) -> ImportedImage:
        """Store the image in an archive (blocks: call it from a thread); ``InvalidImage`` names what
        is wrong, and nothing of it stays stored."""
        self.private_root()
        with (self.root / ".import.lock").open("w") as lock:  # one import at a time, across processes
            fcntl.flock(lock, fcntl.LOCK_EX)  # (a failed one removes blobs another could be counting on)
            return self._import(path, reference)

    def _import(self, path: Path, reference: str | None) -> ImportedImage:
        added: list[Path] = []
        source = open_source(path)
        try:
            description = manifests.describe(source, reference)
            config_digest, config_size = self._store(source, description.config, MAX_CONFIG_BYTES, added)
            config = self._config(config_digest)
            stored_layers: list[tuple[str, int]] = []
            budget = layers.MAX_ROOTFS_BYTES
            for blob in description.layers:
                digest, size = self._store(source, blob, budget, added)
                budget -= size
                stored_layers.append((digest, size))
            manifest = description.manifest or manifests.legacy_manifest(
                config_digest, config_size, stored_layers
            )
            digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
            self._write_blob(digest, manifest, added)
            self.build_rootfs(digest)
        except BaseException:
            for created in added:
                created.unlink(missing_ok=True)
            raise
        finally:
            source.close()
        size = config_size + sum(s for _, s in stored_layers)
        references = description.references
        return ImportedImage(digest, tuple(d for d, _ in stored_layers), size, references, config)

    def manifest(self, digest: str) -> dict[str, Any]:
        doc = json.loads(self.blob(digest).read_bytes())
        if not isinstance(doc, dict):
            raise InvalidImage(f"{digest}: the manifest is not an object")
        return doc

    def image_run(self, digest: str, overrides: dict[str, Any]) -> ImageRun:
        """What a function of image ``digest`` runs (reads two small blobs)."""
        config_digest = str(self.manifest(digest)["config"]["digest"])
        return image_run(self._config(config_digest), overrides)

    def build_rootfs(self, digest: str) -> Path:
        """The image's root file system, its layers applied once (whole or not at all)."""
        target = self.rootfs(digest)
        if target.is_dir():
            return target
        doc = self.manifest(digest)
        config = self._config(str(doc["config"]["digest"]))
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            applier = layers.Applier(str(partial))
            for number, layer in enumerate(doc["layers"]):
                label = f"layer {number} ({layer['digest'][:19]})"
                with self.blob(str(layer["digest"])).open("rb") as blob:
                    diff_id = applier.apply(blob, label)
                if len(diff_ids) == len(doc["layers"]) and diff_ids[number] != f"sha256:{diff_id}":
                    raise InvalidImage(f"{label}: its content does not match the configuration's diff_id")
            layers.add_mount_points(str(partial))
            partial.chmod(0o755)
            partial.rename(target)
        except OSError:
            if not target.is_dir():
                raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return target

    def _config(self, digest: str) -> dict[str, Any]:
        try:
            doc = json.loads(self.blob(digest).read_bytes())
        except ValueError:
            raise InvalidImage("the image configuration is not JSON") from None
        if not isinstance(doc, dict):
            raise InvalidImage("the image configuration is not an object")
        wanted = manifests.host_platform()
        found = (doc.get("os", "linux"), doc.get("architecture", wanted[1]))
        if found != wanted:
            raise InvalidImage(f"the image is for {found[0]}/{found[1]}, not {wanted[0]}/{wanted[1]}")
        return doc

    def _store(self, source: Source, blob: manifests.Blob, limit: int, added: list[Path]) -> tuple[str, int]:
        """Copy one blob in, verified; (digest, size). A blob already stored is not read again."""
        if blob.digest is not None and self.blob(blob.digest).is_file():
            return blob.digest, self.blob(blob.digest).stat().st_size
        directory = self.root / "blobs" / "sha256"
        directory.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=".partial-", dir=directory)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as sink, source.open(blob.name) as opened:
                size = _copy(opened, sink, digest, limit, blob.name)
            found = f"sha256:{digest.hexdigest()}"
            if blob.digest is not None and found != blob.digest:
                raise InvalidImage(f"{blob.name} does not match its digest {blob.digest}")
            target = self.blob(found)
            if target.is_file():
                os.unlink(partial)
            else:
                os.chmod(partial, 0o644)
                os.rename(partial, target)
                added.append(target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        return found, size

    def _write_blob(self, digest: str, data: bytes, added: list[Path]) -> None:
        target = self.blob(digest)
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=".partial-", dir=target.parent)
        with os.fdopen(fd, "wb") as sink:
            sink.write(data)
        os.chmod(partial, 0o644)
        os.rename(partial, target)
        added.append(target)


def _copy(source: IO[bytes], sink: IO[bytes], digest: Any, limit: int, name: str) -> int:
    size = 0
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise InvalidImage(f"{name} is over the {limit} byte limit")
        digest.update(chunk)
        sink.write(chunk)
    return size
