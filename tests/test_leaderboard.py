"""The hackathons' leaderboard (helpers/leaderboard.py): answer keys for the stand-ins, a seeded
public/private split, per-file validation (a malformed file is invalid with its reason and never stops
the others), scores equal to scikit-learn's, a ranked CSV/Markdown table and a chart.

Keys are written to tmp_path here (never to the data root the other tests share).
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, log_loss

from helpers import leaderboard as lb

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", params=[1, 2], ids=["hackathon1", "hackathon2"])
def setting(request, tmp_path_factory):
    number = request.param
    folder = tmp_path_factory.mktemp(f"h{number}")
    key = lb.make_key(number)
    key_file = folder / "key.csv"
    key.to_csv(key_file, index=False)
    return number, key, key_file, lb.classes(number), [str(i) for i in lb.test_ids(number)], folder


def _truth(key, ids, names):
    target = key.assign(id=key["id"].astype(str)).set_index("id").loc[ids, "target"]
    return target.map({c: i for i, c in enumerate(names)}).to_numpy()


def _probs(kind, y, k, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "good":
        p = np.full((len(y), k), 0.2 / k)
        p[np.arange(len(y)), y] += 0.8
        flip = rng.random(len(y)) < 0.3             # 30 % wrong: not a perfect score
        p[flip] = rng.dirichlet(np.ones(k), int(flip.sum()))
        return p
    if kind == "ok":
        p = np.full((len(y), k), 0.5 / k)
        p[np.arange(len(y)), y] += 0.5
        flip = rng.random(len(y)) < 0.6
        p[flip] = rng.dirichlet(np.ones(k), int(flip.sum()))
        return p
    return rng.dirichlet(np.ones(k), len(y))


def _frame(ids, probs, names):
    frame = pd.DataFrame(probs, columns=names)
    frame.insert(0, "id", ids)
    return frame


MALFORMED = {  # student: (how the file is broken, the reason's regex)
    "m_missing_ids": (lambda f: f.iloc[5:], r"5 test ids missing"),
    "m_extra_column": (lambda f: f.assign(confidence=1.0), r"extra columns \['confidence'\]"),
    "m_nan": (lambda f: f.assign(**{f.columns[1]: np.nan}), r"NaN"),
    "m_not_summing": (lambda f: f.assign(**{c: 0.9 * f[c] for c in f.columns[1:]}), r"\d+ rows whose probabilities do not sum to 1"),
    "m_wrong_header": (lambda f: f.rename(columns={"id": "ID"}), r"header must be id,"),
    "m_duplicated": (lambda f: pd.concat([f, f.iloc[:2]]), r"2 duplicated ids"),
    "m_negative": (lambda f: f.assign(**{f.columns[1]: -f[f.columns[1]], f.columns[2]: f[f.columns[2]] + 2 * f[f.columns[1]]}),
                   r"\[0, 1\]"),
    "m_words": (lambda f: f.assign(**{f.columns[1]: "high"}), r"must be numbers"),
}


@pytest.fixture(scope="module")
def batch(setting):
    number, key, key_file, names, ids, folder = setting
    subs = folder / "submissions"
    y = _truth(key, ids, names)
    for student, kind in [("alice", "good"), ("bob", "ok"), ("carol", "random")]:
        lb.write_submission(subs / student / "submission.csv", ids, _probs(kind, y, len(names)), names)
    base = _frame(ids, _probs("ok", y, len(names), seed=1), names)
    for student, (broken, _) in MALFORMED.items():
        (subs / student).mkdir(parents=True)
        broken(base.copy()).to_csv(subs / student / "submission.csv", index=False)
    (subs / "m_binary").mkdir()
    (subs / "m_binary" / "submission.csv").write_bytes(bytes(range(256)) * 4)
    (subs / "m_empty.csv").write_bytes(b"")
    out = folder / "out"
    table = lb.leaderboard(number, subs, key=key_file, out=out, quiet=True)
    return table, out, subs, y


def test_stand_in_keys_split_30_percent_public_with_a_fixed_seed(setting):
    number, key, _, names, ids, _ = setting
    assert list(key.columns) == ["id", "target", "Usage"]
    assert sorted(key["id"].astype(str)) == sorted(ids) and key["target"].isin(names).all()
    assert (key["Usage"] == "Public").sum() == round(0.3 * len(key))
    again = lb.make_key(number)
    assert again.equals(key), "the key and its split must be the same every time"
    assert not np.array_equal(lb.split_public(key["id"], seed=1), key["Usage"].to_numpy())


def test_hackathon1_key_replays_the_generator_that_made_test_csv(monkeypatch):
    import helpers.data

    key = lb.make_key(1)
    shares = key["target"].value_counts(normalize=True)
    assert shares.nlargest(2).sum() > 0.4, "Class_6 and Class_8 dominate, as in train.csv"
    real = helpers.data.get_dataset

    def tampered(name, split="train", *args, **kwargs):
        frame = real(name, split, *args, **kwargs)
        if split == "test":
            frame.loc[0, "feature_0"] += 1
        return frame

    monkeypatch.setattr(helpers.data, "get_dataset", tampered)
    with pytest.raises(ValueError, match="not the stand-in this generator makes"):
        lb.make_key(1)


def test_real_data_needs_the_mentors_key(monkeypatch):
    import helpers.data

    monkeypatch.setattr(helpers.data, "is_standin", lambda name: False)
    with pytest.raises(ValueError, match=r"real data: its answer key cannot be generated; place it at .*hackathon2\.csv"):
        lb.make_key(2)


def test_valid_files_are_ranked_by_the_private_score(setting, batch):
    number, key, *_ = setting
    table, *_ = batch
    valid = table[table["status"] == "valid"]
    assert list(valid["student"]) == ["alice", "bob", "carol"]
    assert list(valid["private_rank"]) == [1, 2, 3] and set(valid["public_rank"]) == {1, 2, 3}
    first = lb.HACKATHONS[number].metrics[0]
    scores = valid[f"private_{first}"].to_numpy()
    assert np.all(np.diff(scores) > 0) if first == "log_loss" else np.all(np.diff(scores) < 0)


def test_scores_are_scikit_learns_on_each_part(setting, batch):
    number, key, key_file, names, ids, folder = setting
    table, _, subs, y = batch
    frame = pd.read_csv(subs / "alice" / "submission.csv", dtype={"id": str}).set_index("id")
    row = table.set_index("student").loc["alice"]
    for part in ("Public", "Private"):
        rows = key.assign(id=key["id"].astype(str))[key["Usage"] == part]
        probs = frame.loc[rows["id"], names].to_numpy()
        truth = rows["target"].map({c: i for i, c in enumerate(names)}).to_numpy()
        assert row[f"{part.lower()}_log_loss"] == pytest.approx(log_loss(truth, probs, labels=np.arange(len(names))))
        if number == 2:
            assert row[f"{part.lower()}_accuracy"] == pytest.approx(accuracy_score(truth, probs.argmax(1)))


@pytest.mark.parametrize("student", [*MALFORMED, "m_binary", "m_empty"])
def test_each_malformed_file_is_invalid_with_its_reason(batch, student):
    table, *_ = batch
    row = table.set_index("student").loc[student]
    assert row["status"] == "invalid" and pd.isna(row["private_rank"])
    reason = MALFORMED[student][1] if student in MALFORMED else r"not a readable CSV|header must be"
    assert pd.Series([row["reason"]]).str.contains(reason).all(), row["reason"]


def test_invalid_files_do_not_change_the_others_scores(setting, batch, tmp_path):
    number, key, key_file, names, *_ = setting
    table, _, subs, _ = batch
    alone = tmp_path / "alone"
    (alone / "alice").mkdir(parents=True)
    (alone / "alice" / "submission.csv").write_bytes((subs / "alice" / "submission.csv").read_bytes())
    solo = lb.leaderboard(number, alone, key=key_file, out=tmp_path / "out", quiet=True)
    cols = [c for c in solo.columns if c.startswith(("public_", "private_"))]
    assert solo.set_index("student").loc["alice", cols].equals(table.set_index("student").loc["alice", cols])


def test_outputs_table_markdown_and_chart(batch):
    table, out, *_ = batch
    assert pd.read_csv(out / "leaderboard.csv")["student"].tolist() == table["student"].tolist()
    md = (out / "leaderboard.md").read_text()
    assert "| private_rank |" in md and "alice" in md and "m_binary" in md and "Ranked by the private" in md
    assert (out / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_notebooks_writer_passes_the_mentees_check(setting, tmp_path):
    number, key, _, names, ids, _ = setting
    path = tmp_path / "submission.csv"
    lb.write_submission(path, ids, np.ones((len(ids), len(names))), names)   # rows renormalised on writing
    assert len(lb.check_submission(path, number)) == len(ids)
    with pytest.raises(ValueError, match=r"expected probabilities of shape"):
        lb.write_submission(path, ids, np.ones((len(ids), len(names) + 1)), names)


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="hackathon must be one of"):
        lb.hackathon(3)
    with pytest.raises(ValueError, match="must be a folder"):
        lb.find_submissions(tmp_path / "nowhere")
    bad_key = tmp_path / "key.csv"
    pd.DataFrame({"id": [1], "label": ["Class_1"]}).to_csv(bad_key, index=False)
    with pytest.raises(ValueError, match="columns id,target"):
        lb.load_key(1, bad_key)
    with pytest.raises(ValueError, match="no answer key"):
        lb.load_key(1, tmp_path / "missing.csv")


def test_a_key_without_usage_is_split_here(tmp_path):
    key = lb.make_key(2).drop(columns="Usage")
    key.to_csv(tmp_path / "key.csv", index=False)
    loaded = lb.load_key(2, tmp_path / "key.csv")
    assert (loaded["Usage"] == "Public").sum() == round(0.3 * len(key))


def test_command_line_and_make_target(setting, batch, tmp_path):
    number, _, key_file, *_ = setting
    _, _, subs, _ = batch
    done = subprocess.run([sys.executable, "-m", "helpers.leaderboard", "--hackathon", str(number), "--submissions",
                           str(subs), "--key", str(key_file), "--out", str(tmp_path)], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "3 valid, 10 invalid" in done.stdout
    makefile = (ROOT / "Makefile").read_text()
    assert "leaderboard:" in makefile and "helpers.leaderboard" in makefile
