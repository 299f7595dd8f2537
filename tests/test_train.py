import pytest
import torch
from torch import nn

from helpers import train


def blobs(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centers = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    return centers[y] + 0.5 * torch.randn(n, 2, generator=g), y


def test_tensor_loader_batches_cover_everything():
    x, y = torch.arange(10).float().unsqueeze(1), torch.arange(10)
    loader = train.TensorLoader(x, y, batch_size=4, shuffle=True, seed=0)
    seen = torch.cat([yb for _, yb in loader])
    assert len(loader) == 3 and sorted(seen.tolist()) == list(range(10))
    again = torch.cat([yb for _, yb in train.TensorLoader(x, y, batch_size=4, shuffle=True, seed=0)])
    assert torch.equal(seen, again)  # same seed, same order
    assert len(train.TensorLoader(x, y, batch_size=4, drop_last=True)) == 2


def test_tensor_loader_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        train.TensorLoader(torch.zeros(3, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        train.TensorLoader(torch.zeros(3, 2), torch.zeros(3), batch_size=0)


def test_from_dataset_fast_path_and_normalisation():
    class Fake(torch.utils.data.Dataset):
        data = torch.full((6, 4, 4), 255, dtype=torch.uint8)
        targets = torch.arange(6)
        transform = None

        def __len__(self):
            return 6

    loader = train.TensorLoader.from_dataset(Fake(), limit=4, mean=(0.5,), std=(0.25,), batch_size=8)
    xb, yb = next(iter(loader))
    assert xb.shape == (4, 1, 4, 4) and torch.allclose(xb, torch.full_like(xb, 2.0)) and yb.tolist() == [0, 1, 2, 3]


def test_fit_learns_and_records_history(tmp_path, capsys):
    torch.manual_seed(0)
    x, y = blobs()
    loader = train.TensorLoader(x, y, batch_size=32, shuffle=True, seed=0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    ckpt = tmp_path / "best.pt"
    hist = train.fit(model, loader, loader, epochs=5, optimizer=torch.optim.Adam(model.parameters(), 0.05),
                     checkpoint=ckpt)
    assert len(hist) == 5 and hist.train_loss[-1] < hist.train_loss[0] * 0.5
    assert hist.val_acc[-1] > 0.9 and hist.best("val_acc")[1] == max(hist.val_acc)
    assert list(hist.frame().columns) == ["train_loss", "train_acc", "val_loss", "val_acc", "seconds"]
    assert capsys.readouterr().out.count("epoch") == 5
    fresh = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    state = train.load_checkpoint(ckpt, fresh)
    assert state["val_acc"] == max(hist.val_acc)
    assert train.evaluate(fresh, loader)[1] == pytest.approx(max(hist.val_acc))


def test_fit_continues_history_and_predicts():
    x, y = blobs(64)
    loader = train.TensorLoader(x, y, batch_size=16)
    model = nn.Linear(2, 3)
    hist = train.fit(model, loader, epochs=1, verbose=False)
    train.fit(model, loader, epochs=2, verbose=False, history=hist)
    assert len(hist) == 3 and hist.val_acc == []
    with pytest.raises(ValueError, match="no 'val_acc' values"):
        hist.best("val_acc")
    preds, targets = train.predict(model, loader)
    assert preds.shape == targets.shape == (64,)


def test_fit_stops_on_divergence():
    x, y = blobs(64)
    model = nn.Linear(2, 3)
    with torch.no_grad():
        model.weight.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        train.fit(model, train.TensorLoader(x, y, batch_size=16), epochs=1, verbose=False)


def test_fit_rejects_zero_epochs_and_empty_loader():
    model = nn.Linear(2, 3)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        train.fit(model, [], epochs=0)
    with pytest.raises(ValueError, match="no batches"):
        train.evaluate(model, [])


def test_load_checkpoint_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train.load_checkpoint(tmp_path / "none.pt", nn.Linear(1, 1))


def test_works_with_a_dataloader():
    x, y = blobs(64)
    dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    hist = train.fit(nn.Linear(2, 3), dl, dl, epochs=1, verbose=False)
    assert 0 <= hist.val_acc[0] <= 1


def test_tensor_loader_dataset_length_is_the_number_of_examples():
    from helpers.train import TensorLoader

    loader = TensorLoader(torch.zeros(10, 2), torch.zeros(10, dtype=torch.long), batch_size=4)
    assert len(loader) == 3 and len(loader.dataset) == 10
    assert torch.equal(loader.dataset[3][0], torch.zeros(2))
