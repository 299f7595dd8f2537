"""The hackathons' leaderboard, run by mentors: validate, score and rank every ``submission.csv``.

    python -m helpers.leaderboard --hackathon 1 --submissions SUBMITTED/ [--key KEY.csv] [--out DIR]
    make leaderboard HACKATHON=1 SUBMISSIONS=SUBMITTED/

Hackathon 1 is Kaggle's Tabular Playground Series (Jun 2021): ``id,Class_1,…,Class_9``, scored
with the multi-class log loss. Hackathon 2 is the bird species: ``id,<species 1>,…,<species K>``
(one probability per training class folder, in ``ImageFolder``'s sorted order), where ``id`` is the
test image's path inside ``test/`` (``"AFRICAN FIREFINCH/1.jpg"``); scored with accuracy, then log loss.

The **answer key** (``id,target,Usage``) stays with the mentor, under the data root's
``answer_keys/`` folder (never inside a dataset folder a mentee gets): ``target`` is the class
name, ``Usage`` is ``Public`` or ``Private`` as in Kaggle's solution files. For the stand-ins the
key is rebuilt from the generator (:func:`make_key`); for real data the mentor places the file,
and a key without ``Usage`` is split here, seeded, 30 % public (:func:`split_public`).

Every submission is validated on its own: a malformed file (missing or unknown ids, duplicated
ids, wrong header, extra columns, NaN, probabilities outside [0, 1] or rows not summing to 1,
unreadable bytes) is listed with its reason as invalid and never stops the others.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

PUBLIC_SHARE = 0.3
SPLIT_SEED = 2021
SUM_TOLERANCE = 1e-3  # a row's probabilities may be rounded in the CSV, not wrong


@dataclass(frozen=True)
class Hackathon:
    number: int
    dataset: str
    title: str
    metrics: tuple[str, ...]  # the first one ranks; "log_loss" lower is better, "accuracy" higher


HACKATHONS = {
    1: Hackathon(1, "tps_jun2021", "Tabular Playground Series, Jun 2021", ("log_loss",)),
    2: Hackathon(2, "birds", "Bird species (RGB images)", ("accuracy", "log_loss")),
}


def hackathon(number: int) -> Hackathon:
    if number not in HACKATHONS:
        raise ValueError(f"hackathon must be one of {sorted(HACKATHONS)}, got {number!r}")
    return HACKATHONS[number]


# --------------------------------------------------------------------------------------------
# what a submission must look like
# --------------------------------------------------------------------------------------------

def classes(number: int) -> list[str]:
    """The probability columns of a submission, in order."""
    from .data import get_dataset, path

    if hackathon(number).dataset == "birds":
        return sorted(p.name for p in path("birds", "train").iterdir() if p.is_dir())
    return list(get_dataset("tps_jun2021", "sample_submission").columns[1:])


def bird_ids(test_set) -> list[str]:
    """The ids of the bird test images: each file's path inside ``test/``, in the order of the
    ``ImageFolder`` ``test_set`` (or of the folder it is given), which is the order of its predictions."""
    import os

    from torchvision.datasets import ImageFolder

    if not hasattr(test_set, "samples"):
        test_set = ImageFolder(test_set)
    return [os.path.relpath(p, test_set.root).replace(os.sep, "/") for p, _ in test_set.samples]


def test_ids(number: int) -> list:
    from .data import get_dataset, path

    if hackathon(number).dataset == "birds":
        return bird_ids(path("birds", "test"))
    return get_dataset("tps_jun2021", "test")["id"].tolist()


def check_submission(path, number: int) -> pd.DataFrame:
    """The mentee's side of :func:`read_submission`: validate a file against the test ids and classes
    (no answer key needed); raise :class:`InvalidSubmission` with the reason the leaderboard would give."""
    ids = pd.DataFrame({"id": [str(i) for i in test_ids(number)]})
    return read_submission(path, ids, classes(number))


def write_submission(path, ids, probs, class_names) -> pd.DataFrame:
    """Write ``id,<class 1>,…`` with one row per id (float64 probabilities, rows renormalised)."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape != (len(ids), len(class_names)):
        raise ValueError(f"expected probabilities of shape ({len(ids)}, {len(class_names)}) (ids, classes), "
                         f"got {probs.shape}")
    frame = pd.DataFrame(probs / probs.sum(axis=1, keepdims=True), columns=list(class_names))
    frame.insert(0, "id", list(ids))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return frame


# --------------------------------------------------------------------------------------------
# answer keys
# --------------------------------------------------------------------------------------------

def key_path(number: int) -> Path:
    from .data import data_root

    return data_root() / "answer_keys" / f"hackathon{number}.csv"


def split_public(ids, share: float = PUBLIC_SHARE, seed: int = SPLIT_SEED) -> np.ndarray:
    """Kaggle's public/private split of the test rows: a seeded ``share`` are ``"Public"``."""
    n = len(ids)
    usage = np.full(n, "Private", dtype=object)
    usage[np.random.default_rng(seed).permutation(n)[: round(share * n)]] = "Public"
    return usage


def _tps_standin_targets() -> pd.DataFrame:
    """Replay the Jun 2021 stand-in's generator (same seed, same draws) to recover its test labels;
    the replayed features must equal test.csv's, so a key can never silently disagree with the data."""
    from .data import get_dataset
    from .data.tabular import TPS_CLASSES, TPS_FEATURES, TPS_ROWS, _tps_design, _tps_rows

    rng = np.random.default_rng(2021)
    design = _tps_design(rng)
    _tps_rows(TPS_ROWS["train"], design, rng)
    x, y = _tps_rows(TPS_ROWS["test"], design, rng)
    test = get_dataset("tps_jun2021", "test")
    if not np.array_equal(test[TPS_FEATURES].to_numpy(), x):
        raise ValueError("test.csv is not the stand-in this generator makes: place the real key file instead")
    return pd.DataFrame({"id": test["id"], "target": np.asarray(TPS_CLASSES)[y]})


def make_key(number: int) -> pd.DataFrame:
    """The answer key of a stand-in (``id,target,Usage``), rebuilt from how it was generated."""
    from .data import is_standin, path

    h = hackathon(number)
    if not is_standin(h.dataset):
        raise ValueError(f"{h.dataset} is the real data: its answer key cannot be generated; place it at "
                         f"{key_path(number)} (columns id,target[,Usage])")
    if h.dataset == "birds":
        from torchvision.datasets import ImageFolder

        test_set = ImageFolder(path("birds", "test"))
        key = pd.DataFrame({"id": bird_ids(test_set), "target": [test_set.classes[t] for t in test_set.targets]})
    else:
        key = _tps_standin_targets()
    key["Usage"] = split_public(key["id"])
    return key


def load_key(number: int, key=None) -> pd.DataFrame:
    """The answer key from ``key`` (a path), else the mentor's file, else (stand-ins) a generated one."""
    target = Path(key) if key is not None else key_path(number)
    if target.exists():
        frame = pd.read_csv(target, dtype={"id": str})
        missing = {"id", "target"} - set(frame.columns)
        if missing:
            raise ValueError(f"{target}: an answer key needs the columns id,target[,Usage]; missing {sorted(missing)}")
        if "Usage" not in frame.columns:
            frame["Usage"] = split_public(frame["id"])
        if not frame["Usage"].isin(["Public", "Private"]).all():
            raise ValueError(f"{target}: Usage must be Public or Private")
        return frame
    if key is not None:
        raise ValueError(f"no answer key at {target}")
    frame = make_key(number)
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(target, index=False)
    return frame


# --------------------------------------------------------------------------------------------
# validate and score one file
# --------------------------------------------------------------------------------------------

class InvalidSubmission(ValueError):
    """A submission that cannot be scored; the message is the reason shown on the leaderboard."""


def read_submission(path, key: pd.DataFrame, class_names) -> pd.DataFrame:
    """Read and validate ``path`` against the key's ids and the classes; rows in the key's order."""
    expected = ["id", *class_names]
    try:
        frame = pd.read_csv(path, dtype={"id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as err:
        raise InvalidSubmission(f"not a readable CSV ({type(err).__name__}: {str(err)[:80]})") from err
    if list(frame.columns) != expected:
        extra = [c for c in frame.columns if c not in expected]
        missing = [c for c in expected if c not in frame.columns]
        what = (f"extra columns {extra[:3]}" if extra else "") + ("; " if extra and missing else "") + \
               (f"missing columns {missing[:3]}" if missing else "")
        raise InvalidSubmission(f"header must be id,{class_names[0]},…,{class_names[-1]}: {what or 'columns out of order'}")
    ids = frame["id"]
    if ids.duplicated().any():
        raise InvalidSubmission(f"{int(ids.duplicated().sum())} duplicated ids, e.g. {ids[ids.duplicated()].iloc[0]!r}")
    key_ids = key["id"].astype(str)
    want = set(key_ids)
    missing, unknown = want - set(ids), set(ids) - want
    if missing or unknown:
        raise InvalidSubmission(f"{len(missing)} test ids missing, {len(unknown)} unknown ids")
    try:
        probs = frame[list(class_names)].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidSubmission("probabilities must be numbers") from err
    if not np.isfinite(probs).all():
        raise InvalidSubmission(f"{int((~np.isfinite(probs)).any(axis=1).sum())} rows with NaN or infinite probabilities")
    if (probs < 0).any() or (probs > 1).any():
        raise InvalidSubmission("probabilities must lie in [0, 1]")
    bad = np.abs(probs.sum(axis=1) - 1) > SUM_TOLERANCE
    if bad.any():
        raise InvalidSubmission(f"{int(bad.sum())} rows whose probabilities do not sum to 1")
    return frame.set_index("id").loc[key_ids]


def score(frame: pd.DataFrame, key: pd.DataFrame, class_names, metrics) -> dict[str, float]:
    """``{"public_<metric>": …, "private_<metric>": …}`` with scikit-learn's log_loss / accuracy."""
    from sklearn.metrics import accuracy_score, log_loss

    probs = frame[list(class_names)].to_numpy(dtype=np.float64)
    y = key["target"].map({c: i for i, c in enumerate(class_names)})
    if y.isna().any():
        raise ValueError(f"the answer key names classes that are not columns, e.g. {key['target'][y.isna()].iloc[0]!r}")
    y = y.to_numpy(dtype=int)
    out = {}
    for part in ("Public", "Private"):
        rows = (key["Usage"] == part).to_numpy()
        for metric in metrics:
            if metric == "log_loss":
                value = log_loss(y[rows], probs[rows], labels=np.arange(len(class_names)))
            else:
                value = accuracy_score(y[rows], probs[rows].argmax(axis=1))
            out[f"{part.lower()}_{metric}"] = float(value)
    return out


# --------------------------------------------------------------------------------------------
# the whole batch
# --------------------------------------------------------------------------------------------

def find_submissions(folder) -> dict[str, Path]:
    """``{student: path}``: ``<folder>/<student>/**/submission.csv`` or ``<folder>/<student>.csv``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"SUBMISSIONS must be a folder of <student>/submission.csv files, got {folder}")
    found = {}
    for child in sorted(folder.iterdir()):
        if child.is_dir():
            files = sorted(child.rglob("submission.csv"))
            if files:
                found[child.name] = files[0]
        elif child.suffix == ".csv":
            found[child.stem] = child
    return found


def rank(rows: list[dict], metrics) -> pd.DataFrame:
    """Valid entries ranked by the private score of the first metric (public rank alongside), invalid last."""
    table = pd.DataFrame(rows)
    for col in [f"{p}_{m}" for m in metrics for p in ("public", "private")]:
        if col not in table:
            table[col] = np.nan
    valid = table[table["status"] == "valid"].copy()
    for part in ("public", "private"):
        keys = [f"{part}_{m}" for m in metrics]
        asc = [m == "log_loss" for m in metrics]
        order = valid.sort_values(keys, ascending=asc, kind="mergesort").index
        valid.loc[order, f"{part}_rank"] = np.arange(1, len(order) + 1)
    valid = valid.sort_values(["private_rank"]) if len(valid) else valid
    invalid = table[table["status"] != "valid"]
    out = pd.concat([valid, invalid], ignore_index=True)
    cols = ["private_rank", "public_rank", "student",
            *[f"private_{m}" for m in metrics], *[f"public_{m}" for m in metrics], "status", "reason"]
    for col in ("private_rank", "public_rank"):
        out[col] = out[col].astype("Int64") if col in out else pd.array([pd.NA] * len(out), dtype="Int64")
    out["reason"] = out["reason"].fillna("")
    return out[cols]


def leaderboard(number: int, submissions, key=None, out=None, class_names=None, quiet=None) -> pd.DataFrame:
    """Validate and score every submission; write leaderboard.csv, leaderboard.md and leaderboard.png to
    ``out`` (default ``build/leaderboard/hackathon<n>``); return the ranked table."""
    from tqdm.auto import tqdm

    from .config import quiet as is_quiet

    h = hackathon(number)
    answer = load_key(number, key)
    names = list(class_names) if class_names is not None else classes(number)
    rows = []
    found = find_submissions(submissions)
    for student, path in tqdm(found.items(), desc=f"hackathon {number}", disable=is_quiet() if quiet is None else quiet):
        try:
            frame = read_submission(path, answer, names)
            rows.append({"student": student, "status": "valid", "reason": "", **score(frame, answer, names, h.metrics)})
        except InvalidSubmission as err:
            rows.append({"student": student, "status": "invalid", "reason": str(err)})
    table = rank(rows, h.metrics) if rows else rank([{"student": "", "status": "", "reason": ""}], h.metrics).iloc[:0]
    out = Path(out) if out is not None else Path("build") / "leaderboard" / f"hackathon{number}"
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "leaderboard.csv", index=False)
    (out / "leaderboard.md").write_text(markdown(table, h, answer))
    chart(table, h, out / "leaderboard.png")
    return table


def markdown(table: pd.DataFrame, h: Hackathon, key: pd.DataFrame) -> str:
    n_public = int((key["Usage"] == "Public").sum())
    lines = [f"# Hackathon {h.number} leaderboard: {h.title}", "",
             f"Ranked by the private {h.metrics[0].replace('_', ' ')} ({len(key) - n_public:,} test rows); "
             f"the public score uses the other {n_public:,} rows, as on Kaggle.", ""]
    cols = list(table.columns)
    lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in table.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            cells.append("" if pd.isna(v) else f"{v:.4f}" if isinstance(v, float) else str(v).replace("|", "/"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def chart(table: pd.DataFrame, h: Hackathon, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    valid = table[table["status"] == "valid"]
    metric = h.metrics[0]
    fig, ax = plt.subplots(figsize=(7, 0.35 * max(len(valid), 3) + 1.2))
    y = np.arange(len(valid))[::-1]
    ax.barh(y - 0.2, valid[f"private_{metric}"], height=0.4, label="private", color="tab:blue")
    ax.barh(y + 0.2, valid[f"public_{metric}"], height=0.4, label="public", color="tab:orange")
    ax.set_yticks(y, valid["student"].astype(str))
    ax.set(xlabel=metric.replace("_", " ") + (" (lower is better)" if metric == "log_loss" else " (higher is better)"),
           title=f"hackathon {h.number}: {len(valid)} valid, {len(table) - len(valid)} invalid")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.leaderboard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--hackathon", type=int, required=True, choices=sorted(HACKATHONS))
    parser.add_argument("--submissions", required=True, help="folder of <student>/submission.csv")
    parser.add_argument("--key", help="answer key CSV (id,target[,Usage]); default: data root's answer_keys/")
    parser.add_argument("--out", help="output folder (default build/leaderboard/hackathon<N>)")
    args = parser.parse_args(argv)
    table = leaderboard(args.hackathon, args.submissions, args.key, args.out)
    out = args.out or f"build/leaderboard/hackathon{args.hackathon}"
    print(table.to_string(index=False))
    print(f"wrote {out}/leaderboard.csv, leaderboard.md, leaderboard.png "
          f"({int((table['status'] == 'valid').sum())} valid, {int((table['status'] != 'valid').sum())} invalid)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
