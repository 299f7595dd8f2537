"""The [metrics] line (helpers/metrics.py) and what of an output is compared (helpers/outputs.py)."""
import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from helpers import metrics, outputs


def test_report_line_round_trips():
    values, line = metrics.format_report({"test_acc": np.float32(0.951549), "n_params": np.int64(235146),
                                          "note": "x", "nothing": None})
    assert line == '[metrics] {"test_acc": 0.9515, "n_params": 235146, "note": "x", "nothing": null}'
    assert metrics.parse_lines("noise\n" + line + "\n") == values


def test_a_metric_that_is_no_number_or_string_is_a_clear_error():
    with pytest.raises(ValueError, match="a metric is a number or a string, got list"):
        metrics.format_report({"curve": [0.1, 0.2]})


def test_changed_names_each_metric_that_moved():
    assert metrics.changed({"acc": 0.5, "n": 3}, {"acc": 0.5, "n": 3}) == []
    assert metrics.changed({"acc": 0.5, "old": 1}, {"acc": 0.5001, "new": 2}) == [
        "metric 'acc': committed 0.5, now 0.5001", "metric 'new' is only in the new outputs",
        "metric 'old' is only in the committed outputs"]


def cell(*outs, tags=()):
    c = new_code_cell("x", outputs=list(outs))
    if tags:
        c.metadata["tags"] = list(tags)
    return c


def stream(text):
    return new_output("stream", name="stdout", text=text)


def test_every_digit_counts_outside_timing_cells():
    """A change in the fourth decimal of an accuracy is a difference: nothing is masked."""
    old, new = new_notebook(cells=[cell(stream("test acc 0.8305\n"))]), new_notebook(cells=[cell(stream("test acc 0.8306\n"))])
    assert outputs.differences(old, new) == ["code cell 0 output 0 (stream:stdout): committed 'test acc 0.8305', "
                                             "now 'test acc 0.8306'"]
    assert outputs.differences(old, old) == []


def test_figures_are_compared_byte_for_byte():
    png = lambda b: new_output("display_data", data={"image/png": b, "text/plain": "<Figure size 640x480 with 1 Axes>"})
    old, new = new_notebook(cells=[cell(png("iVBORaaaa"))]), new_notebook(cells=[cell(png("iVBORaaab"))])
    assert outputs.differences(old, new) == ["code cell 0 output 0 (image/png): the figure's pixels differ"]


def test_streams_arriving_in_chunks_are_one_output():
    a = new_notebook(cells=[cell(stream("one\n"), stream("two\n"))])
    b = new_notebook(cells=[cell(stream("one\ntwo\n"))])
    assert outputs.differences(a, b) == [] and outputs.count(a) == 1


@pytest.mark.parametrize("text, same_as", [
    ("<Figure at 0x7f3a2b1c9d80>", "<Figure at 0x55aa00112233>"),
    ("/home/mentor/course/data/mnist/raw", "/tmp/ci/x/data/mnist/raw"),
    ("/home/a/week3/01.ipynb", "/srv/b/week3/01.ipynb"),
    ("torch 2.14.1+cu130", "torch 2.14.1+cpu"),
])
def test_only_what_is_not_a_result_is_sanitised(text, same_as):
    assert outputs.sanitize(text) == outputs.sanitize(same_as)


def test_durations_are_masked_only_in_timing_cells():
    slow, quick = stream("epoch 1: 3.0 s of training, test accuracy 0.4740\n"), stream("epoch 1: 2.1 s of training, test accuracy 0.4740\n")
    assert outputs.differences(new_notebook(cells=[cell(slow, tags=["timing"])]),
                               new_notebook(cells=[cell(quick, tags=["timing"])])) == []
    assert len(outputs.differences(new_notebook(cells=[cell(slow)]), new_notebook(cells=[cell(quick)]))) == 1
    worse = stream("epoch 1: 2.1 s of training, test accuracy 0.4741\n")   # the accuracy still counts
    assert len(outputs.differences(new_notebook(cells=[cell(slow, tags=["timing"])]),
                                   new_notebook(cells=[cell(worse, tags=["timing"])]))) == 1
    line = lambda s: stream('[metrics] {"train_seconds": %s, "test_acc": 0.9}\n' % s)
    assert outputs.differences(new_notebook(cells=[cell(line("7.6"), tags=["timing"])]),
                               new_notebook(cells=[cell(line("null"), tags=["timing"])])) == []


def test_census_counts_outputs_by_how_they_are_compared(tmp_path):
    nb = new_notebook(cells=[cell(stream("a\n")), cell(stream("1 s\n"), tags=["timing"]),
                             cell(stream("weights cached\n"), tags=["machine"])])
    assert outputs.census(nb) == {"exact": 1, "timing": 1, "machine": 1}
    assert outputs.comparable(nb.cells[2]) == []


def test_a_changed_notebook_is_named_as_such():
    a, b = new_notebook(cells=[cell()]), new_notebook(cells=[cell(), cell()])
    assert outputs.differences(a, b) == ["1 code cells committed, 2 now: the notebook itself changed"]
