import numpy as np
import pytest
import torch

from helpers import checks


class AlwaysEqual:
    def __eq__(self, other):
        return True

    __array_priority__ = 1000


def test_close_accepts_right_answers():
    checks.close(np.array([1.0, 2.0]), [1.0, 2.0], "hint")
    checks.close(torch.tensor(3.0), 3.0, "hint")
    checks.close(2, 2.0, "hint")


def test_close_rejects_wrong_shape_nan_and_value():
    with pytest.raises(AssertionError, match=r"shape \(3,\), expected \(2,\)\. my hint"):
        checks.close(np.zeros(3), np.zeros(2), "my hint")
    with pytest.raises(AssertionError, match="NaN or inf. stabilise"):
        checks.close(np.array([np.nan]), [0.0], "stabilise")
    with pytest.raises(AssertionError, match="off by up to 1. average"):
        checks.close(np.array([2.0]), [1.0], "average")


def test_always_equal_object_cannot_pass():
    with pytest.raises(AssertionError, match="should be a number or a NumPy array"):
        checks.close(AlwaysEqual(), 1.0, "hint")


def test_not_implemented_guard():
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not answered yet"):
        checks.not_implemented_guard(stub, 1)
    assert checks.not_implemented_guard(lambda x: x + 1, 1) == 2


def test_expect():
    checks.expect(True, "no")
    with pytest.raises(AssertionError, match="the hint"):
        checks.expect(False, "the hint")
