"""What an image archive holds: its manifest, configuration and layers, one platform chosen.

Two forms. An OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/...``), which newer
Docker's ``docker save`` also writes: the index is followed down to one image manifest, choosing
the worker's platform (linux/amd64 on x86-64) from any index on the way. The legacy ``docker save``
form (``manifest.json`` naming ``<id>/layer.tar`` files and a ``<digest>.json`` configuration): an
OCI manifest is written for it, so that every image has a manifest digest to be named by.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from dataclasses import dataclass

from workers.functions.images.sources import InvalidImage, Source, read_document

INDEX_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)
MANIFEST_TYPES = frozenset(
    {"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"}
)
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
MAX_LAYERS = 127
"""Docker's (overlay's) limit on an image's layers."""
MAX_INDEX_DEPTH = 4


def host_platform() -> tuple[str, str]:
    """The (os, architecture) images must be for: this machine's, in OCI's spelling."""
    machine = platform.machine().lower()
    return "linux", {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


@dataclass(frozen=True, slots=True)
class Blob:
    """A file of the archive to store: its name there, and its digest when the archive declares one."""

    name: str
    digest: str | None
    """``sha256:<hex>``; None for the legacy form's layers (computed as they are stored)."""


@dataclass(frozen=True, slots=True)
class Description:
    """One image of an archive."""

    manifest: bytes | None
    """The manifest as the archive holds it (verified); None: the legacy form (``legacy_manifest``)."""
    config: Blob
    layers: tuple[Blob, ...]
    references: tuple[str, ...]
    """``repository:tag`` names the archive gives the image."""


def hex_of(digest: str, where: str) -> str:
    found = DIGEST.match(digest) if isinstance(digest, str) else None
    if found is None:
        raise InvalidImage(f"{where}: digest {str(digest)[:100]!r} is not sha256:<64 hex digits>")
    return found.group(1)


def blob_name(digest: str, where: str) -> str:
    return f"blobs/sha256/{hex_of(digest, where)}"


def describe(source: Source, reference: str | None = None) -> Description:
    """The image in ``source`` (``reference``: which, when it holds several: a tag or a name)."""
    if source.exists("index.json"):
        return _describe_layout(source, reference)
    if source.exists("manifest.json"):
        return _describe_docker(source, reference)
    raise InvalidImage("neither an OCI image layout (index.json) nor a docker save archive (manifest.json)")


def legacy_manifest(config_digest: str, config_size: int, layers: list[tuple[str, int]]) -> bytes:
    """The OCI manifest of a legacy docker save image (stored layers: (digest, size))."""
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": OCI_LAYER, "digest": d, "size": s} for d, s in layers],
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def _descriptors(doc: object, where: str) -> list[dict[str, object]]:
    manifests = doc.get("manifests") if isinstance(doc, dict) else None
    if not isinstance(manifests, list) or not all(isinstance(m, dict) for m in manifests):
        raise InvalidImage(f"{where}: 'manifests' is not a list of descriptors")
    return manifests


def _verified(source: Source, digest: str, where: str) -> bytes:
    """A metadata blob's bytes, checked against its digest."""
    name = blob_name(digest, where)
    with source.open(name) as opened:
        data = opened.read(4 * 1024 * 1024 + 1)
    if len(data) > 4 * 1024 * 1024:
        raise InvalidImage(f"{where}: {name} is too big for a manifest")
    if hashlib.sha256(data).hexdigest() != hex_of(digest, where):
        raise InvalidImage(f"{where}: {name} does not match its digest")
    return data


def _names(descriptor: dict[str, object]) -> list[str]:
    annotations = descriptor.get("annotations")
    if not isinstance(annotations, dict):
        return []
    found = [annotations.get(CONTAINERD_NAME), annotations.get(REF_NAME)]
    return [n for n in found if isinstance(n, str) and n]


def _matches(reference: str, names: list[str]) -> bool:
    return any(n == reference or n.endswith(("/" + reference, ":" + reference)) for n in names)


def _describe_layout(source: Source, reference: str | None) -> Description:
    index = read_document(source, "index.json")
    candidates = _descriptors(index, "index.json")
    if reference is not None:
        candidates = [d for d in candidates if _matches(reference, _names(d))]
        if not candidates:
            raise InvalidImage(f"index.json names no image {reference!r}")
    chosen: dict[str, tuple[bytes, list[str]]] = {}
    for descriptor in candidates:
        digest, manifest = _resolve(source, descriptor, "index.json", 0)
        if digest is not None and manifest is not None:
            names = chosen.setdefault(digest, (manifest, []))[1]
            names.extend(_names(descriptor))
    if not chosen:
        os_name, arch = host_platform()
        raise InvalidImage(f"the archive has no image for {os_name}/{arch}")
    if len(chosen) > 1:
        raise InvalidImage(f"the archive holds {len(chosen)} images: name the one to import (a tag)")
    ((manifest, names),) = chosen.values()
    doc = json.loads(manifest)
    config, layers = _manifest_blobs(doc, "the image manifest")
    return Description(manifest, config, layers, tuple(dict.fromkeys(names)))


def _resolve(
    source: Source, descriptor: dict[str, object], where: str, depth: int
) -> tuple[str | None, bytes | None]:
    """(digest, manifest) of the image a descriptor leads to for this platform; (None, None) if none."""
    digest = descriptor.get("digest")
    media_type = descriptor.get("mediaType")
    if not isinstance(digest, str):
        raise InvalidImage(f"{where}: a descriptor has no digest")
    if not _platform_fits(descriptor.get("platform")):
        return None, None
    data = _verified(source, digest, where)
    try:
        doc = json.loads(data)
    except ValueError:
        raise InvalidImage(f"{where}: {digest} is not JSON") from None
    media_type = media_type or (doc.get("mediaType") if isinstance(doc, dict) else None)
    if media_type in INDEX_TYPES or (isinstance(doc, dict) and "manifests" in doc):
        if depth >= MAX_INDEX_DEPTH:
            raise InvalidImage(f"{where}: indexes nested over {MAX_INDEX_DEPTH} deep")
        found = [_resolve(source, d, digest, depth + 1) for d in _descriptors(doc, digest)]
        images = {d: m for d, m in found if d is not None}
        if len(images) > 1:
            raise InvalidImage(f"{digest}: the index has {len(images)} images for this platform")
        return next(iter(images.items()), (None, None))
    if media_type is not None and media_type not in MANIFEST_TYPES:
        return None, None  # (an attestation, a signature: not an image)
    return digest, data


def _platform_fits(value: object) -> bool:
    if not isinstance(value, dict):
        return True  # undeclared: decided by the configuration
    return (value.get("os"), value.get("architecture")) == host_platform()


def _manifest_blobs(doc: object, where: str) -> tuple[Blob, tuple[Blob, ...]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise InvalidImage(f"{where} has no config descriptor")
    layers = doc.get("layers")
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        raise InvalidImage(f"{where}: 'layers' is not a list of descriptors")
    if len(layers) > MAX_LAYERS:
        raise InvalidImage(f"{where} has {len(layers)} layers, over the limit of {MAX_LAYERS}")
    config_digest = str(doc["config"].get("digest"))
    config = Blob(blob_name(config_digest, where), config_digest)
    blobs = []
    for number, layer in enumerate(layers):
        digest = str(layer.get("digest"))
        blobs.append(Blob(blob_name(digest, f"{where}, layer {number}"), digest))
    return config, tuple(blobs)


def _describe_docker(source: Source, reference: str | None) -> Description:
    doc = read_document(source, "manifest.json")
    if not isinstance(doc, list) or not doc or not all(isinstance(entry, dict) for entry in doc):
        raise InvalidImage("manifest.json is not a list of images")
    entries = doc
    if reference is not None:
        entries = [e for e in doc if _matches(reference, [str(t) for t in e.get("RepoTags") or []])]
        if not entries:
            raise InvalidImage(f"manifest.json names no image {reference!r}")
    if len({str(e.get("Config")) for e in entries}) > 1:
        raise InvalidImage(f"manifest.json holds {len(entries)} images: name the one to import (a tag)")
    entry = entries[0]
    config, layers = entry.get("Config"), entry.get("Layers")
    names_ok = isinstance(layers, list) and all(isinstance(n, str) for n in layers)
    if not isinstance(config, str) or not isinstance(layers, list) or not names_ok:
        raise InvalidImage("manifest.json: an image needs 'Config' and 'Layers' file names")
    if len(layers) > MAX_LAYERS:
        raise InvalidImage(f"manifest.json: {len(layers)} layers, over the limit of {MAX_LAYERS}")
    tags = [str(t) for e in entries for t in e.get("RepoTags") or []]
    return Description(None, _docker_blob(config), tuple(_docker_blob(n) for n in layers), tuple(tags))


def _docker_blob(name: str) -> Blob:
    """A legacy file: its digest is known when its name says it (``blobs/sha256/<hex>``, ``<hex>.json``)."""
    found = re.fullmatch(r"(?:blobs/sha256/)?([0-9a-f]{64})(?:\.json)?", name)
    return Blob(name, f"sha256:{found.group(1)}" if found else None)
