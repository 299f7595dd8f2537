import numpy as np
import pytest
import torch

from helpers import config


def test_profile_from_env(monkeypatch):
    monkeypatch.setenv("DIC_PROFILE", "full")
    assert config.profile() == "full" and not config.is_quick()
    monkeypatch.setenv("DIC_PROFILE", "Quick")
    assert config.profile() == "quick" and config.pick(1, 2) == 1


def test_profile_default_follows_hardware(monkeypatch):
    monkeypatch.delenv("DIC_PROFILE", raising=False)
    expected = "full" if config._accelerator() else "quick"
    assert config.profile() == expected


def test_bad_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DIC_PROFILE", "fast")
    with pytest.raises(ValueError, match="DIC_PROFILE must be one of"):
        config.profile()


def test_seed_everything_repeats_numbers():
    config.seed_everything(3)
    a = (np.random.rand(3), torch.rand(3))
    config.seed_everything(3)
    b = (np.random.rand(3), torch.rand(3))
    assert np.array_equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.raises(ValueError, match="non-negative int"):
        config.seed_everything(-1)


def test_pick_device(monkeypatch):
    monkeypatch.setenv("DIC_DEVICE", "cpu")
    assert config.pick_device().type == "cpu"
    monkeypatch.delenv("DIC_DEVICE")
    assert config.pick_device().type in {"cpu", "cuda", "mps"}


def test_setup_prints_profile(capsys, monkeypatch):
    monkeypatch.setenv("DIC_PROFILE", "quick")
    cfg = config.setup(seed=1)
    out = capsys.readouterr().out
    assert "profile: quick" in out and cfg.quick and cfg.pick("a", "b") == "a"


def test_report_prints_metrics_and_their_tolerances(capsys):
    out = config.report(acc=np.float64(0.91234), n_params=np.int64(235146), note="x",
                        speedup=config.within(3.2, rel=0.5))
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == ['[metrics] {"acc": 0.9123, "n_params": 235146, "note": "x", "speedup": 3.2}',
                     '[tolerances] {"acc": "abs=0.02", "n_params": "exact", "note": "exact", "speedup": "rel=0.5"}']
    assert out == {"acc": 0.9123, "n_params": 235146, "note": "x", "speedup": 3.2}


def test_report_wants_a_tolerance_for_an_unknown_kind():
    with pytest.raises(ValueError, match="declare it: speed=within"):
        config.report(speed=1.5)
