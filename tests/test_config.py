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


def test_report_prints_one_metrics_line(capsys, monkeypatch):
    monkeypatch.setenv("DIC_QUIET", "1")
    out = config.report(acc=np.float64(0.91234), n_params=np.int64(235146), note="x")
    assert capsys.readouterr().out == '[metrics] {"acc": 0.9123, "n_params": 235146, "note": "x"}\n'
    assert out == {"acc": 0.9123, "n_params": 235146, "note": "x"}


def test_a_learner_watching_sees_no_metrics_line_and_make_run_still_reads_them(capsys, monkeypatch):
    """With a person watching (make lab, Colab) the metrics go out under their own MIME type, which
    JupyterLab does not render; the runner reads them from there as from the printed line."""
    import nbformat
    from IPython.core.interactiveshell import InteractiveShell

    from helpers import metrics, runner

    for name in ("CI", "DIC_QUIET", "DIC_PROGRESS"):
        monkeypatch.delenv(name, raising=False)
    shell = InteractiveShell.instance()
    shown = []
    monkeypatch.setattr(shell.display_pub, "publish", lambda data, **kw: shown.append(data))
    assert config.report(acc=0.91234) == {"acc": 0.9123}
    assert capsys.readouterr().out == "" and shown == [{metrics.MIME: {"acc": 0.9123}}]
    cell = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("display_data", data=shown[0])])
    assert runner.metrics_of(nbformat.v4.new_notebook(cells=[cell])) == {"acc": 0.9123}


def test_the_mode_file_is_read_by_make_and_python_alike():
    env = config.reproducible_env()
    assert env["ATEN_CPU_CAPABILITY"] == "avx2" and env["MKL_CBWR"] == "COMPATIBLE"
    assert env["NPY_DISABLE_CPU_FEATURES"] == "X86_V4 AVX512_ICL AVX512_SPR" and env["DIC_THREADS"] == "1"
    make = (config.ENV_FILE.parents[1] / "Makefile").read_text()
    assert "include helpers/reproducible.env" in make and "export $(MODE_VARS)" in make


def test_setup_switches_the_mode_on_and_says_so(capsys, monkeypatch):
    """Under `make test` the load-time variables are set, so setup() finds the whole mode in force."""
    monkeypatch.setenv("DIC_PROFILE", "quick")
    monkeypatch.delenv("DIC_FAST", raising=False)
    flags = (torch.backends.mkldnn.enabled, torch.backends.nnpack.enabled, torch.get_num_threads())
    try:
        config.setup()
        line = capsys.readouterr().out
        if config.mode_unavailable():
            assert "not reproducible here" in line
        elif config.mode_problems():
            assert "CPU mode incomplete" in line and "make lab" in line
        else:
            assert line.rstrip().endswith("| reproducible CPU mode")
        if not config.mode_unavailable():
            assert not torch.backends.mkldnn.enabled and not torch.backends.nnpack.enabled
            assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.backends.mkldnn.enabled, torch.backends.nnpack.enabled = flags[:2]
        torch.set_num_threads(flags[2])
        torch.use_deterministic_algorithms(False)


def test_fast_mode_changes_nothing_and_says_so(monkeypatch):
    monkeypatch.setenv("DIC_FAST", "1")
    before = torch.backends.mkldnn.enabled
    assert config.reproducible_mode("cpu").startswith("fast CPU mode (DIC_FAST=1)")
    assert torch.backends.mkldnn.enabled == before
    monkeypatch.setenv("DIC_FAST", "0")
    assert not config.fast()


def test_a_missing_variable_is_named(monkeypatch):
    if config.mode_unavailable():
        pytest.skip(config.mode_unavailable())
    monkeypatch.delenv("MKL_CBWR", raising=False)
    assert "MKL_CBWR is not 'COMPATIBLE'" in config.mode_problems()


def test_elsewhere_the_reason_is_given(monkeypatch):
    monkeypatch.setattr(config.platform, "machine", lambda: "arm64")
    assert "exact outputs are recorded on x86-64" in config.mode_unavailable()
    assert config.reproducible_mode("cpu").startswith("CPU outputs not reproducible here (this is")


def test_kernel_spec_carries_the_mode(tmp_path, monkeypatch):
    import json

    monkeypatch.setattr(config.sys, "prefix", str(tmp_path))
    env = config.install_kernel()
    spec = json.loads((tmp_path / "share/jupyter/kernels/python3/kernel.json").read_text())
    assert spec.get("env", {}) == env
    if not config.mode_unavailable():
        assert env == config.reproducible_env()
    assert config.install_kernel(fast_mode=True) == {}
    assert "env" not in json.loads((tmp_path / "share/jupyter/kernels/python3/kernel.json").read_text()) or \
        json.loads((tmp_path / "share/jupyter/kernels/python3/kernel.json").read_text())["env"] == {}
