"""helpers.data.holdout: the validation split notebooks make their choices on."""
import pytest
import torch

from helpers import data


def test_disjoint_complete_and_sized():
    train_idx, val_idx = data.holdout(100, n_val=12, seed=3)
    assert train_idx.dtype == val_idx.dtype == torch.int64
    assert len(val_idx) == 12 and len(train_idx) == 88
    together = torch.cat([train_idx, val_idx])
    assert torch.equal(together.sort().values, torch.arange(100)), "the two parts must cover range(n) once each"


def test_seeded_and_shuffled():
    a, b, c = (data.holdout(1000, n_val=100, seed=s)[1] for s in (0, 0, 1))
    assert torch.equal(a, b), "the same seed must give the same split"
    assert not torch.equal(a, c), "another seed should give another split"
    assert not torch.equal(a.sort().values, torch.arange(100)), "the validation part must be shuffled, not the first rows"


def test_does_not_touch_the_global_generator():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    data.holdout(50, n_val=5, seed=7)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("n, n_val, seed, message", [
    (10, 0, 0, "n_val must be between 1 and n - 1"),
    (10, 10, 0, "n_val must be between 1 and n - 1"),
    (10, 2.5, 0, "n_val must be an int"),
    (10, 2, None, "seed must be an int"),
])
def test_bad_arguments_say_what_was_expected(n, n_val, seed, message):
    with pytest.raises(ValueError, match=message):
        data.holdout(n, n_val=n_val, seed=seed)
