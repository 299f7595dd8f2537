"""benchmarks/full_profile.py: the dry run CI makes, and the refusal to run hours on a CPU."""
import importlib.util
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("full_profile", ROOT / "benchmarks/full_profile.py")
full_profile = importlib.util.module_from_spec(spec)
spec.loader.exec_module(full_profile)


def notebook(path, *sources):
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), path)
    return path


def test_dry_run_lists_what_the_full_profile_changes(tmp_path, capsys):
    good = notebook(tmp_path / "good.ipynb", "from helpers import config\ncfg = config.setup()",
                    "limit = cfg.pick(2000, None)\n!ls\nepochs = cfg.pick(1, 10)")
    same = notebook(tmp_path / "same.ipynb", "cfg = config.setup()", "x = 1")
    assert full_profile.dry_run([good, same]) == 0
    out = capsys.readouterr().out
    assert f"{tmp_path.name}/good: 2 setting(s): 2000 -> None, 1 -> 10" in out
    assert f"{tmp_path.name}/same: the same on both profiles" in out and "2 of 2 notebooks" in out


def test_dry_run_fails_on_a_notebook_that_never_chooses_a_profile(tmp_path, capsys):
    bad = notebook(tmp_path / "bad.ipynb", "import torch", "x = 1", "y = 2", "cfg = config.setup()")
    assert full_profile.dry_run([bad]) == 1
    assert "PROBLEM: no config.setup()" in capsys.readouterr().out


def test_the_course_accepts_the_full_profile(capsys):
    assert full_profile.main(["--dry-run"]) == 0


def test_a_real_run_needs_a_gpu_or_says_how(monkeypatch, capsys):
    monkeypatch.setattr(full_profile.config, "pick_device", lambda: __import__("torch").device("cpu"))
    assert full_profile.main([]) == 2
    assert "--allow-cpu" in capsys.readouterr().out
