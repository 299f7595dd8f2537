"""helpers.runner: executes notebooks headless, collects metrics, reports failures."""
import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from helpers import runner


def write(path, *sources):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, path)
    return path


def test_runner_table_metrics_and_failures(tmp_path, capsys):
    ok = write(tmp_path / "ok.ipynb", "from helpers import config", "config.report(acc=0.91234)")
    bad = write(tmp_path / "bad.ipynb", "raise ValueError('broken on purpose')")
    build = tmp_path / "build"
    status = runner.main([str(ok), str(bad), "--build", str(build), "--timeout", "60"])
    out = capsys.readouterr().out
    assert status == 1
    assert "acc=0.9123" in out and "broken on purpose" in out
    assert "1 ok, 1 failed" in out
    assert (build / tmp_path.name / "ok.html").exists() and (build / tmp_path.name / "ok.ipynb").exists()


def test_inplace_refreshes_outputs_only_on_success(tmp_path):
    ok = write(tmp_path / "ok.ipynb", "print(6 * 7)")
    row = runner.execute(ok, timeout=60, inplace=True)
    assert row["error"] is None
    assert nbformat.read(ok, as_version=4).cells[0].outputs[0]["text"] == "42\n"
    bad = write(tmp_path / "bad.ipynb", "print(1)", "1/0")
    assert "ZeroDivisionError" in runner.execute(bad, timeout=60, inplace=True)["error"]
    assert nbformat.read(bad, as_version=4).cells[0].outputs == []  # the source is left as it was


def test_runner_counts_outputs_that_differ_from_the_committed_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("DIC_PROFILE", "quick")
    monkeypatch.delenv("DIC_FAST", raising=False)
    path = write(tmp_path / "drift.ipynb", "from helpers import config", "_ = config.report(test_acc=0.91, steps=3)",
                 "print('same')")
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text='[metrics] {"test_acc": 0.5, "steps": 3}\n')]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="same\n")]
    nbformat.write(nb, path)
    row = runner.execute(path, timeout=60)
    assert row["error"] is None and row["metrics"] == {"test_acc": 0.91, "steps": 3}
    assert row["drift"] == ["metric 'test_acc': committed 0.5, now 0.91"]
    if runner.compared() is None:
        assert row["differs"] == ["code cell 1 output 0 (stream:stdout): committed '[metrics] {\"test_acc\": 0.5, "
                                  "\"steps\": 3}', now '[metrics] {\"test_acc\": 0.91, \"steps\": 3}'"]
    monkeypatch.setenv("DIC_FAST", "1")
    assert runner.execute(path, timeout=60)["differs"] is None   # fast mode: nothing to compare against


def test_kernels_get_the_mode_unless_it_is_switched_off(monkeypatch):
    from helpers import config

    monkeypatch.delenv("DIC_FAST", raising=False)
    monkeypatch.delenv("MKL_CBWR", raising=False)
    if config.mode_unavailable() is None:
        assert runner.kernel_env()["MKL_CBWR"] == "COMPATIBLE"
    monkeypatch.setenv("DIC_FAST", "1")
    assert "MKL_CBWR" not in runner.kernel_env()
