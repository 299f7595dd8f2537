"""Tabular sets: scikit-learn's bundled CSVs, and the Kaggle Tabular Playground (Jun 2021).

scikit-learn ships its small classics as header-less CSV files inside the package; they are
rewritten once into the data root with proper column names, then always read with pandas.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._files import STANDIN, DataError, write_manifest

SKLEARN = {
    "diabetes": "load_diabetes",        # 442 patients, 10 raw (unscaled) features, disease progression
    "breast_cancer": "load_breast_cancer",  # 569 tumours, 30 features, malignant/benign
    "iris": "load_iris",
    "wine": "load_wine",
    "digits": "load_digits",            # 1,797 8x8 images flattened to 64 columns
}

TPS_FEATURES = [f"feature_{i}" for i in range(75)]
TPS_CLASSES = [f"Class_{i}" for i in range(1, 10)]
# approximate class shares of the real competition's train.csv (Class_6 and Class_8 dominate)
TPS_PRIORS = np.array([0.046, 0.121, 0.073, 0.042, 0.008, 0.258, 0.074, 0.256, 0.122])
TPS_ROWS = {"train": 30_000, "test": 10_000}


def sklearn_frame(name: str) -> pd.DataFrame:
    import sklearn.datasets as skd

    kwargs = {"scaled": False} if name == "diabetes" else {}
    bunch = getattr(skd, SKLEARN[name])(as_frame=True, **kwargs)
    frame = bunch.frame.copy()
    if name == "diabetes":  # the raw file codes sex as 1/2: keep it categorical, as recorded
        frame["sex"] = frame["sex"].astype(int)
    if "target_names" in bunch and name != "digits":
        frame["target_name"] = np.asarray(bunch.target_names)[frame["target"].to_numpy()]
    return frame


def prepare_sklearn(name: str, stage: Path) -> dict:
    sklearn_frame(name).to_csv(stage / f"{name}.csv", index=False)
    return write_manifest(stage, "scikit-learn's bundled CSV (real data)", "bundled", [f"{name}.csv"])


def load_sklearn(name: str, folder: Path, split: str, seed: int = 0) -> pd.DataFrame:
    frame = pd.read_csv(folder / f"{name}.csv")
    if split == "all":
        return frame
    rng = np.random.default_rng(seed)  # a fixed 80/20 split, stratified where there are classes
    test = np.zeros(len(frame), dtype=bool)
    groups = frame.groupby("target").indices.values() if name != "diabetes" else [np.arange(len(frame))]
    for idx in groups:
        test[rng.permutation(idx)[: round(0.2 * len(idx))]] = True
    part = frame[test] if split == "test" else frame[~test]
    return part.reset_index(drop=True)


def check_tps(frame: pd.DataFrame, path: Path, with_target: bool) -> None:
    want = ["id", *TPS_FEATURES] + (["target"] if with_target else [])
    if list(frame.columns) != want:
        raise DataError(f"{path} does not have the Tabular Playground Jun 2021 columns "
                        f"(id, feature_0..feature_74{', target' if with_target else ''}); got {list(frame.columns)[:5]}…")
    if with_target and not frame["target"].isin(TPS_CLASSES).all():
        raise DataError(f"{path}: target values must be Class_1..Class_9")


def adopt_tps(folder: Path) -> dict | None:
    """Accept Kaggle's train.csv / test.csv / sample_submission.csv if the user placed them."""
    if not (folder / "train.csv").exists():
        return None
    for fname, with_target in (("train.csv", True), ("test.csv", False)):
        path = folder / fname
        if not path.exists():
            raise DataError(f"{path} is missing: download it with "
                            "`kaggle competitions download -c tabular-playground-series-jun-2021`")
        try:
            check_tps(pd.read_csv(path, nrows=100), path, with_target)
        except (pd.errors.ParserError, UnicodeDecodeError) as err:
            raise DataError(f"{path} is not a readable CSV ({err})") from err
    files = [f for f in ("train.csv", "test.csv", "sample_submission.csv") if (folder / f).exists()]
    return write_manifest(folder, "Kaggle files placed in the data root (real data)", "user", files)


TPS_LABEL_KEEP = 0.45  # share of rows whose target is the class their features were drawn from


def _tps_design(rng: np.random.Generator) -> dict:
    """The stand-in's fixed "world": which features carry signal, and how, for each class."""
    features = rng.permutation(75)
    return {
        "base": rng.gamma(0.6, 1.5, size=75),                          # mean count of every feature
        "rate": features[:6],                                          # (a) class-dependent rates
        "rate_shift": np.exp(rng.normal(0, 0.7, size=(9, 6))),
        "band": features[6:12],                                        # (b) a band of middle counts
        "band_on": rng.random((9, 6)) < 0.4,
        "pairs": features[12:24].reshape(6, 2),                        # (c) co-activation of a pair
        "pair_same": rng.random((9, 6)) < 0.5,
    }


def _tps_rows(n: int, design: dict, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n rows of counts (n, 75) and their (noisy) class labels (n,) in 0..8."""
    priors = TPS_PRIORS / TPS_PRIORS.sum()
    z = rng.choice(9, size=n, p=priors)                    # the class the features are drawn from
    scale = rng.gamma(2.0, 0.5, size=(n, 1))               # per-row over-dispersion
    x = rng.poisson(design["base"] * scale * (rng.random((n, 75)) < 0.35))   # zero-inflated noise counts
    f = design["rate"]
    x[:, f] = rng.poisson(design["base"][f] * scale * design["rate_shift"][z] * (rng.random((n, len(f))) < 0.35))
    for j, col in enumerate(design["band"]):
        hit = design["band_on"][z, j] & (rng.random(n) < 0.25)
        x[hit, col] = rng.integers(3, 7, size=int(hit.sum()))
    for j, (a, b) in enumerate(design["pairs"]):
        on_a = rng.random(n) < 0.5
        agree = rng.random(n) < np.where(design["pair_same"][z, j], 0.65, 0.35)
        on_b = np.where(agree, on_a, ~on_a)
        x[:, a] = np.where(on_a, 1 + rng.poisson(2.0, n), 0)
        x[:, b] = np.where(on_b, 1 + rng.poisson(2.0, n), 0)
    relabel = rng.random(n) >= TPS_LABEL_KEEP
    y = np.where(relabel, rng.choice(9, size=n, p=priors), z)
    return x.astype(np.int64), y


def make_tps_standin(stage: Path, seed: int = 2021) -> dict:
    """A stand-in with the competition's schema: 75 non-negative count features, 9 imbalanced classes.

    It imitates how the real (itself synthetic) Jun 2021 data behaved, weak signal under heavy noise,
    without choosing a winner between model families. Every row is drawn from a latent class z
    (with the competition's approximate class shares):

    * all 75 features start as zero-inflated, over-dispersed Poisson counts (a per-row gamma scale)
      that do not depend on z: 51 of them stay pure noise (about 80 % of all counts are 0);
    * 6 features have class-dependent rates (a log-normal factor per class and feature): signal
      that is close to log-linear, the kind logistic regression sees;
    * 6 features are pushed into a band of middle counts (3..6) for some classes: a threshold
      effect, not monotone in the count;
    * 6 pairs of features are each active half of the time whatever the class; the class only
      changes whether the two are active together (65 %) or apart (35 %): an interaction invisible
      to any model of one feature at a time, the kind a hidden layer can find;
    * label noise: only 45 % of the targets are z; the rest are redrawn from the class shares, so
      even the generator's own posterior scores a log loss only modestly below the priors' (~1.91).

    Measured on the generated train.csv (seed 2021; rows 0..23,999 to fit, the last 6,000 to score):
    class priors 1.914, logistic regression on log1p-standardised counts (C=0.05) 1.852, a 75-64-64-9
    ReLU net with dropout (Adam, best of 30 epochs) 1.853: neither family wins by construction.
    What a stand-in cannot show: anything about the real competition's leaderboard, or which model
    family wins on its data.
    """
    rng = np.random.default_rng(seed)
    design = _tps_design(rng)
    start = 0
    for split, n in TPS_ROWS.items():
        x, y = _tps_rows(n, design, rng)
        frame = pd.DataFrame(x, columns=TPS_FEATURES)
        frame.insert(0, "id", np.arange(start, start + n))
        if split == "train":
            frame["target"] = np.asarray(TPS_CLASSES)[y]
            frame.to_csv(stage / "train.csv", index=False)
        else:
            frame.to_csv(stage / "test.csv", index=False)
            sub = pd.DataFrame({"id": frame["id"], **{c: 1 / 9 for c in TPS_CLASSES}})
            sub.to_csv(stage / "sample_submission.csv", index=False)
        start += n
    return write_manifest(stage, "STAND-IN (generated, same schema as Kaggle's)", STANDIN,
                          ["train.csv", "test.csv", "sample_submission.csv"])


def load_tps(folder: Path, split: str) -> pd.DataFrame:
    fname = {"train": "train.csv", "test": "test.csv", "sample_submission": "sample_submission.csv"}[split]
    frame = pd.read_csv(folder / fname)
    if split != "sample_submission":
        check_tps(frame, folder / fname, with_target=split == "train")
    return frame
