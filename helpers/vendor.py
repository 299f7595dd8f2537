"""Offline copies of the web assets course pages need: MathJax, so maths renders without a network.

    provision_mathjax()   the folder holding MathJax 3 (``build/vendor/mathjax-3.2.2/``), fetched once
    cached_mathjax()      that folder when it is complete and checked, else None

Which MathJax: npm's ``mathjax@3.2.2``. ``es5/tex-svg-full.js`` (2.2 MB) is one self-contained file:
TeX input with every extension built in (nothing loaded at run time) and SVG output with its glyphs
inside the script (no font files, which browsers refuse to load from ``file://`` pages).
``es5/ui/safe.js`` filters what untrusted TeX may do (feedback pages show student markdown).

Provisioning follows ``helpers.data``'s offline route (without importing it: the book needs no torch): ``npm pack`` from the registry (npm's own cache
first), each file checked against its SHA-256, kept in ``build/vendor/`` (gitignored); later runs need
no network. The book (``helpers.book``) copies ``tex-svg-full.js`` into its ``_static/``.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

from .course import REPO

MATHJAX_NPM = "mathjax@3.2.2"
MATHJAX_FILES = {  # inside the npm package's es5/ -> SHA-256
    "tex-svg-full.js": "a4354ff94fd868aea0cc6eaaa79a57fda0588646fc46ee3700a349ee0a11cbe6",
    "ui/safe.js": "9fef48d868277a8bc1852f7ba796b33ead812d38916a7131b0a29ea48961a6a4",
}
MATHJAX_CACHE = REPO / "build" / "vendor" / "mathjax-3.2.2"


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@contextlib.contextmanager
def _locked(lock: Path):
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _write(path: Path, data: bytes) -> None:
    """Through a temporary file and a rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class MathJaxUnavailable(RuntimeError):
    """MathJax could not be provisioned; the message says why."""


def cached_mathjax(folder: Path = MATHJAX_CACHE) -> Path | None:
    """``folder`` when it holds every file of :data:`MATHJAX_FILES` with the right SHA-256, else None."""
    ok = all((folder / name).is_file() and _sha256(folder / name) == digest for name, digest in MATHJAX_FILES.items())
    return folder if ok else None


def provision_mathjax(folder: Path = MATHJAX_CACHE, timeout: float = 120) -> Path:
    """The folder holding MathJax, filled with ``npm pack`` the first time; raises MathJaxUnavailable."""
    if cached_mathjax(folder):
        return folder
    with _locked(folder.parent / f".{folder.name}.lock"):          # two builds at once fetch it once
        if cached_mathjax(folder):
            return folder
        with tempfile.TemporaryDirectory() as tmp:
            cmd = ["npm", "pack", MATHJAX_NPM, "--silent", "--prefer-offline", "--fetch-retries=0",
                   "--pack-destination", tmp]
            try:
                run = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=timeout)
            except FileNotFoundError as err:
                raise MathJaxUnavailable("npm is not installed (apt-get install npm)") from err
            except subprocess.TimeoutExpired as err:
                raise MathJaxUnavailable(f"`npm pack {MATHJAX_NPM}` took over {timeout:g} s") from err
            tarballs = sorted(Path(tmp).glob("mathjax-*.tgz"))
            if run.returncode != 0 or not tarballs:
                last = (run.stderr.strip().splitlines() or [f"exit {run.returncode}"])[-1]
                raise MathJaxUnavailable(f"`npm pack {MATHJAX_NPM}` failed: {last[:200]}")
            with tarfile.open(tarballs[0]) as tar:
                for name, digest in MATHJAX_FILES.items():
                    try:
                        data = tar.extractfile(f"package/es5/{name}").read()
                    except (KeyError, AttributeError) as err:   # absent, or not a file
                        raise MathJaxUnavailable(f"{MATHJAX_NPM} has no es5/{name}") from err
                    _write(folder / name, data)
                    if _sha256(folder / name) != digest:
                        raise MathJaxUnavailable(f"{MATHJAX_NPM}'s es5/{name} is not the file this course checked")
    return folder
