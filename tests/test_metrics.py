"""Metric tolerances (helpers/metrics.py) and the portable nbval comparison (tests/portable_nbval.py)."""
import pytest

from helpers import metrics
from helpers.metrics import Tolerance, within
from tests.portable_nbval import mask


@pytest.mark.parametrize("name, value, spec", [
    ("mlp_test_acc", 0.95, "abs=0.02"),
    ("r2_gd_test", 0.52, "abs=0.02"),
    ("logloss_fc", 1.84, "rel=0.05,abs=0.01"),
    ("max_gradcheck_rel_error", "4.1e-09", "orders=1,floor=1e-12"),
    ("numpy_torch_max_loss_diff", 7.8e-16, "orders=1,floor=1e-12"),   # "diff" wins over "loss"
    ("mnist_std", 0.3086, "rel=0.01"),
    ("cnn_params", 105866, "exact"),
    ("train_seconds", 3.2, "none"),
    ("note", "offline copy", "exact"),
])
def test_tolerance_by_kind(name, value, spec):
    tol = metrics.tolerance_for(name, value)
    assert tol.spec == spec
    assert Tolerance.parse(spec) == tol


@pytest.mark.parametrize("spec, committed, ok, bad", [
    ("abs=0.02", 0.8305, [0.8295, 0.8105, 0.8505], [0.8104, 0.86, float("nan")]),
    ("rel=0.05,abs=0.01", 1.8475, [1.90, 1.76], [1.95, 1.70]),
    ("rel=0.05,abs=0.01", 0.05, [0.059, 0.041], [0.0615]),                  # the floor of 0.01
    ("orders=1,floor=1e-12", 4.1e-9, [4.2e-10, 4.0e-8, 4.1e-9], [4.0e-10, 4.2e-8, 0.0]),
    ("orders=1,floor=1e-12", 5.6e-17, [0.0, 1e-13, 1e-11], [1e-10]),
    ("exact", 14, [14], [15, 14.5]),
    ("none", 3.0, [300.0, 0.0], []),
])
def test_tolerance_holds(spec, committed, ok, bad):
    tol = Tolerance.parse(spec)
    for value in ok:
        assert tol.holds(committed, value), (spec, committed, value)
    for value in bad:
        assert not tol.holds(committed, value), (spec, committed, value)


def test_compare_names_notebook_metric_values_and_tolerance():
    problems = metrics.compare({"test_acc": 0.8305, "n": 10, "gone": 1.0}, {"test_acc": 0.70, "n": 10, "new": 2},
                               {"test_acc": "abs=0.02", "n": "exact"}, where="week2/05.ipynb")
    assert problems == [
        "week2/05.ipynb: metric 'gone' is only in the committed outputs: run `make refresh`",
        "week2/05.ipynb: metric 'new' is only in the new outputs: run `make refresh`",
        "week2/05.ipynb: metric 'test_acc': committed 0.8305, now 0.7, tolerance abs=0.02",
    ]
    assert metrics.compare({"e": "4.1e-09"}, {"e": "9.0e-09"}, {"e": "orders=1,floor=1e-12"}) == []


def test_compare_reports_the_share_of_each_tolerance_used():
    spent = []
    problems = metrics.compare({"val_acc": 0.80, "loss": 2.0, "err": "1e-9", "n": 3},
                               {"val_acc": 0.815, "loss": 2.0, "err": "9e-9", "n": 3},
                               {"val_acc": "abs=0.02", "loss": "rel=0.05,abs=0.01", "err": "orders=1,floor=1e-12",
                                "n": "exact"}, where="w.ipynb", spent=spent)
    assert problems == []
    shares = {message.split("'")[1]: share for share, message in spent}
    assert set(shares) == {"val_acc", "loss"}                     # orders and exact have no share to spend
    assert shares["val_acc"] == pytest.approx(0.75) and shares["loss"] == 0.0
    assert Tolerance(abs=0.02).used(0.5, 0.54) == pytest.approx(2.0)   # beyond the bound: more than 1
    assert Tolerance(rel=0.1).used(2.0, 2.1) == pytest.approx(0.5)
    assert Tolerance(abs=0.02).used(0.5, float("nan")) is None and Tolerance().used(1.0, 1.0) is None


def test_parse_lines_reads_what_report_prints(capsys):
    from helpers import config

    config.report(val_loss=0.5, steps=3)
    found = metrics.parse_lines(capsys.readouterr().out)
    assert found == ({"val_loss": 0.5, "steps": 3}, {"val_loss": "rel=0.05,abs=0.01", "steps": "exact"})


def test_bad_tolerances_are_clear_errors():
    with pytest.raises(ValueError, match="not a tolerance"):
        Tolerance.parse("about 2 %")
    with pytest.raises(ValueError, match=">= 0"):
        within(1.0, rel=-0.1)


@pytest.mark.parametrize("text, masked", [
    ("test acc 0.8305 vs 0.8295", "test acc <F> vs <F>"),
    ("<td>-0.000</td><td>0.000</td>", "<td><F></td><td><F></td>"),
    ("linear: max |numpy - torch| = 5.6e-17", "linear: max |numpy - torch| = <F>"),
    ("tensor([1., 0.5000])", "tensor([<F>, <F>])"),
    ("epoch  1  train loss 0.1234", "epoch 1 train loss <F>"),
    ("loss nan, grad -inf", "loss <F>, grad <F>"),
    ("1.8x faster, 95.2%", "<F>x faster, <F>%"),
])
def test_mask_hides_decimals(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize("text", [
    "torch.Size([64, 1, 28, 28]) torch.float32", "235,146 parameters in 3 layers", "conv1.weight",
    "Python 3.11.7", "week5_6/01_mlp_autoencoder.ipynb", "ValueError: expected (N, 1, 28, 28), got (28, 28)",
])
def test_mask_keeps_integers_text_and_shapes(text):
    assert mask(text) == text


def test_mask_integers_in_cells_whose_counts_vary():
    assert mask("lowest val loss at epoch 19 of 30: 0.412", integers=True) == "lowest val loss at epoch <N> of <N>: <F>"
    assert mask("epoch 19 (torch.float32, conv1)", integers=True) == "epoch <N> (torch.float32, conv1)"
