import copy
import functools
import math
import re

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


# --- the engine: steps, history, callbacks, fast paths ---------------------------------------

def small_cnn(dropout=0.2):
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Dropout(dropout), nn.Flatten(),
                         nn.Linear(4 * 8 * 8, 3))


def images(n=96, seed=0):
    """(n, 1, 8, 8) images in [0, 1] and labels 0-2: a bright row, column or diagonal."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = 0.1 * torch.rand(n, 1, 8, 8, generator=g)
    pos = torch.randint(1, 7, (n,), generator=g)
    for i in range(n):
        if y[i] == 0:
            x[i, 0, pos[i], :] = 0.9
        elif y[i] == 1:
            x[i, 0, :, pos[i]] = 0.9
        else:
            x[i, 0].fill_diagonal_(0.9)
    return x, y


def test_default_step_is_bit_identical_to_a_hand_written_loop():
    x, y = images()

    def hand_written(epochs):
        torch.manual_seed(3)
        model = small_cnn()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        loader, losses, accs = train.TensorLoader(x, y, batch_size=16, shuffle=True, seed=1), [], []
        for _ in range(epochs):
            model.train()
            total, correct, count = 0.0, 0, 0
            for xb, yb in loader:
                out = model(xb)
                loss = nn.functional.cross_entropy(out, yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(xb)
                correct += (out.argmax(1) == yb).sum().item()
                count += len(xb)
            losses.append(total / count)
            accs.append(correct / count)
        return model, losses, accs

    ref_model, ref_losses, ref_accs = hand_written(3)
    ref_rng = torch.get_rng_state()
    torch.manual_seed(3)
    model = small_cnn()
    hist = train.fit(model, train.TensorLoader(x, y, batch_size=16, shuffle=True, seed=1), epochs=3, verbose=False,
                     optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    assert hist.train_loss == ref_losses and hist["train_acc"] == ref_accs  # exactly, not approximately
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), ref_model.state_dict().values()))
    assert torch.equal(torch.get_rng_state(), ref_rng), "the default path must draw no extra random numbers"


@pytest.mark.parametrize("quiet", [True, False])
def test_epoch_line_format(capsys, monkeypatch, quiet):
    """The epoch's seconds are shown to a person, not in quiet runs (committed outputs, compared exactly)."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("DIC_QUIET", "1" if quiet else "")
    x, y = blobs(64)
    history = train.fit(nn.Linear(2, 3), train.TensorLoader(x, y, batch_size=16), train.TensorLoader(x, y, batch_size=64))
    line = capsys.readouterr().out.strip().splitlines()[-1]
    clock = "" if quiet else r"  \(\d+\.\ds\)"
    assert re.fullmatch(r"epoch  1  train loss \d\.\d{4} acc \d\.\d{3}  \|  "
                        r"val loss \d\.\d{4} acc \d\.\d{3}" + clock, line), line
    assert history["seconds"][0] > 0


class TinyAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encode = nn.Sequential(nn.Flatten(), nn.Linear(64, 8), nn.ReLU())
        self.decode = nn.Sequential(nn.Linear(8, 64), nn.Sigmoid(), nn.Unflatten(1, (1, 8, 8)))

    def forward(self, x):
        return self.decode(self.encode(x))


def test_fit_trains_an_autoencoder_and_records_psnr():
    torch.manual_seed(0)
    x, y = images(128)
    loader = train.TensorLoader(x, y, batch_size=16, shuffle=True, seed=0)
    model = TinyAutoencoder()
    hist = train.fit(model, loader, train.TensorLoader(x, y, batch_size=64), epochs=8, verbose=False,
                     step=train.reconstruction_step, optimizer=torch.optim.Adam(model.parameters(), lr=1e-2))
    assert "train_acc" not in hist and "val_acc" not in hist  # no silent accuracy of 0.0 any more
    assert hist.val_loss[-1] < 0.5 * hist.val_loss[0], hist.val_loss
    assert hist["val_psnr"][-1] > hist["val_psnr"][0] + 3, hist["val_psnr"]
    metrics = train.evaluate(model, train.TensorLoader(x, y, batch_size=64), step=train.reconstruction_step)
    with torch.no_grad():
        per_image = ((model(x) - x) ** 2).flatten(1).mean(1)
    assert metrics["loss"] == pytest.approx(per_image.mean().item(), rel=1e-5)
    assert metrics["psnr"] == pytest.approx((-10 * per_image.log10()).mean().item(), rel=1e-5)
    with pytest.raises(ValueError, match="classification_step expects logits"):
        train.fit(model, loader, epochs=1, verbose=False)  # the default step says what to use instead


def test_reconstruction_step_targets_and_custom_loss():
    noisy, clean = torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8)
    model = nn.Identity()
    out = train.reconstruction_step(model, (noisy, clean), target="y", loss_fn=nn.functional.l1_loss)
    assert out["loss"].item() == pytest.approx((noisy - clean).abs().mean().item())
    assert out["psnr"].shape == (4,) and train.reconstruction_step(model, noisy)["psnr"].tolist() == [100.0] * 4
    with pytest.raises(ValueError, match="target must be 'input' or 'y'"):
        train.reconstruction_step(model, noisy, target="clean")
    l1 = train.evaluate(model, [(noisy, clean)], step=functools.partial(train.reconstruction_step, target="y"),
                        loss_fn=nn.functional.l1_loss)
    assert l1["loss"] == pytest.approx(out["loss"].item())  # fit/evaluate hand loss_fn= to the step


class AuxNet(nn.Module):
    """GoogLeNet's output protocol in miniature: (main, aux1, aux2) in train mode, logits in eval."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU())
        self.head, self.aux1, self.aux2 = nn.Linear(16, 3), nn.Linear(16, 3), nn.Linear(16, 3)

    def forward(self, x):
        h = self.trunk(x)
        return (self.head(h), self.aux1(h), self.aux2(h)) if self.training else self.head(h)


def test_fit_trains_a_model_with_auxiliary_heads():
    torch.manual_seed(0)
    x, y = images(128)
    model = AuxNet()
    with pytest.raises(ValueError, match="auxiliary heads"):
        train.fit(model, train.TensorLoader(x, y, batch_size=32), epochs=1, verbose=False)
    hist = train.fit(model, train.TensorLoader(x, y, batch_size=32, shuffle=True, seed=0),
                     train.TensorLoader(x, y, batch_size=128), epochs=6, verbose=False,
                     step=train.aux_classification_step, optimizer=torch.optim.Adam(model.parameters(), lr=1e-2))
    assert hist.val_acc[-1] > 0.9 and hist.train_loss[-1] < hist.train_loss[0] / 2
    assert all(t > m for t, m in zip(hist.train_loss, hist.train_main_loss))  # aux losses are added in training
    model.train()
    main, a1, a2 = model(x[:8])
    ce = nn.functional.cross_entropy
    out = train.aux_classification_step(model, (x[:8], y[:8]))
    assert out["loss"].item() == pytest.approx((ce(main, y[:8]) + 0.3 * (ce(a1, y[:8]) + ce(a2, y[:8]))).item())


def test_aux_step_reads_googlenet_outputs():
    from helpers.models import GoogLeNetOutputs

    torch.manual_seed(0)
    xb, yb = torch.randn(4, 64), torch.tensor([0, 2, 1, 1])
    main, aux2 = nn.Linear(64, 3), nn.Linear(64, 3)
    ce = nn.functional.cross_entropy
    model = lambda x: GoogLeNetOutputs(main(x), aux2(x), None)  # noqa: E731  (aux1 switched off)
    out = train.aux_classification_step(model, (xb, yb))
    assert out["loss"].item() == pytest.approx((ce(main(xb), yb) + 0.3 * ce(aux2(xb), yb)).item())
    assert out["main_loss"].item() == pytest.approx(ce(main(xb), yb).item()) and out["acc"].shape == (4,)
    half = train.aux_classification_step(model, (xb, yb), aux_weight=0.5)["loss"]
    assert half.item() == pytest.approx((ce(main(xb), yb) + 0.5 * ce(aux2(xb), yb)).item())

    seen = []
    custom = train.aux_classification_step(model, (xb, yb), criterion=lambda out, y: seen.append(out) or out[0].sum())
    assert custom["loss"].item() == pytest.approx(main(xb).sum().item())                # the criterion's total
    assert custom["main_loss"].item() == pytest.approx(ce(main(xb), yb).item()) and seen[0][2] is None  # the tuple as it is


def test_grad_norms_records_each_modules_gradient_before_the_update():
    x, y = blobs(64)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
    seen = []

    class Probe:
        def on_after_backward(self, run):
            seen.append((run.model[0].weight.grad.norm() ** 2 + run.model[0].bias.grad.norm() ** 2).sqrt().item())

    hist = train.fit(model, train.TensorLoader(x, y, batch_size=16), epochs=2, verbose=False,
                     callbacks=[train.GradNorms(first=model[0], last=model[2]), Probe()])
    assert len(hist.steps["grad_norm_first"]) == len(hist.steps["grad_norm_last"]) == 8
    assert hist.steps["grad_norm_first"] == pytest.approx(seen) and min(seen) > 0
    with pytest.raises(ValueError, match="name at least one module"):
        train.GradNorms()


class Scripted:
    """A step whose validation loss follows a script (training is real), and a callback that
    snapshots the weights at the end of every epoch."""

    def __init__(self, val_losses):
        self.val_losses, self.calls, self.weights = list(val_losses), 0, {}

    def step(self, model, batch):
        out = train.classification_step(model, batch)
        if not model.training:
            out["loss"] = torch.tensor(self.val_losses[self.calls])
            self.calls += 1
        return out

    def on_epoch_end(self, run):
        self.weights[run.epoch] = {k: v.clone() for k, v in run.model.state_dict().items()}


def same_weights(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoint_keeps_the_epoch_of_the_lowest_val_loss(tmp_path):
    x, y = blobs(64)
    script = Scripted([0.9, 0.5, 0.7, 0.4, 0.6, 0.8])
    model = nn.Linear(2, 3)
    ckpt = train.Checkpoint(tmp_path / "best.pt", "val_loss")
    hist = train.fit(model, train.TensorLoader(x, y, batch_size=16), train.TensorLoader(x, y, batch_size=64),
                     epochs=6, step=script.step, callbacks=[ckpt, script], verbose=False,
                     optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert hist.val_loss == pytest.approx([0.9, 0.5, 0.7, 0.4, 0.6, 0.8])
    state = train.load_checkpoint(tmp_path / "best.pt", fresh := nn.Linear(2, 3))
    assert state["epoch"] == hist.best("val_loss")[0] == ckpt.epoch == 4
    assert state["monitor"] == "val_loss" and state["val_loss"] == pytest.approx(0.4)
    assert state["val_acc"] == hist.val_acc[3] and "optimizer" in state
    assert same_weights(fresh.state_dict(), script.weights[4])
    assert not same_weights(fresh.state_dict(), model.state_dict())
    assert not (tmp_path / "best.pt.tmp").exists()
    with pytest.raises(ValueError, match="cannot monitor 'val_loss'"):  # no validation loader: say so
        train.fit(model, train.TensorLoader(x, y, batch_size=16), verbose=False,
                  callbacks=[train.Checkpoint(tmp_path / "c.pt", "val_loss")])


def test_early_stopping_stops_at_the_right_epoch_and_restores_the_best(capsys):
    x, y = blobs(64)
    script = Scripted([1.0, 0.8, 0.9, 0.85, 0.95, 0.7, 0.6, 0.5])
    model = nn.Linear(2, 3)
    stopper = train.EarlyStopping("val_loss", patience=3, restore_best=True)
    hist = train.fit(model, train.TensorLoader(x, y, batch_size=16), train.TensorLoader(x, y, batch_size=64),
                     epochs=8, step=script.step, callbacks=[script, stopper],
                     optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert len(hist) == 5 and stopper.stopped_epoch == 5 and stopper.best_epoch == 2  # 3 epochs without a new low
    assert same_weights(model.state_dict(), script.weights[2])
    assert "early stop: val_loss has not improved for 3 epochs (best 0.8000 at epoch 2)" in capsys.readouterr().out


def test_best_weights_keep_the_best_epoch_in_memory():
    x, y = blobs(64)
    script = Scripted([0.9, 0.3, 0.5])
    best = train.BestWeights("val_loss")
    with pytest.raises(RuntimeError, match="no weights yet"):
        best.restore(nn.Linear(2, 3))
    model = nn.Linear(2, 3)
    train.fit(model, train.TensorLoader(x, y, batch_size=16), train.TensorLoader(x, y, batch_size=64), epochs=3,
              step=script.step, callbacks=[script, best], verbose=False,
              optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert best.epoch == 2 and best.value == pytest.approx(0.3)
    best.restore(model)
    assert same_weights(model.state_dict(), script.weights[2])


def test_one_cycle_schedule_steps_per_batch():
    x, y = blobs(80)
    loader = train.TensorLoader(x, y, batch_size=16, shuffle=True, seed=0)
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=3 * len(loader))
    hist = train.fit(model, loader, epochs=3, optimizer=opt, callbacks=[train.LRSchedule(schedule, per="batch")],
                     verbose=False)
    ref_opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.01, momentum=0.9)
    ref = torch.optim.lr_scheduler.OneCycleLR(ref_opt, max_lr=0.5, total_steps=3 * len(loader))
    expected = []
    for _ in range(3 * len(loader)):
        expected.append(ref_opt.param_groups[0]["lr"])
        ref_opt.step()
        ref.step()
    assert hist.steps["lr"] == expected and len(expected) == 15
    assert 0.4 < max(expected) <= 0.5 and expected[0] < 0.05 and expected[-1] < 1e-3


def test_epoch_schedules_legacy_argument_and_plateau():
    x, y = blobs(64)
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.4)
    hist = train.fit(model, train.TensorLoader(x, y, batch_size=16), epochs=3, optimizer=opt, verbose=False,
                     scheduler=torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5))
    assert hist.steps["lr"] == [0.4] * 4 + [0.2] * 4 + [0.1] * 4
    opt = torch.optim.SGD(model.parameters(), lr=0.4)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    script = Scripted([1.0, 2.0, 3.0])
    train.fit(model, train.TensorLoader(x, y, batch_size=64), train.TensorLoader(x, y, batch_size=64), epochs=3,
              optimizer=opt, step=script.step, callbacks=[train.LRSchedule(plateau, monitor="val_loss")], verbose=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)  # halved after epochs 2 and 3 (no new low)
    with pytest.raises(ValueError, match="per must be 'batch' or 'epoch'"):
        train.LRSchedule(plateau, per="step")


def test_nonfinite_loss_stops_before_the_step():
    x, y = blobs(64)
    batches = [(x[i:i + 16].clone(), y[i:i + 16]) for i in range(0, 64, 16)]
    seen = {}

    class Spoil:
        def on_batch_end(self, run):
            seen[(run.epoch, run.batch)] = {k: v.clone() for k, v in run.model.state_dict().items()}

        def on_epoch_end(self, run):
            batches[2][0][0, 0] = float("nan")  # epoch 2, batch 3 has a NaN input

    model = nn.Linear(2, 3)
    with pytest.raises(FloatingPointError, match=r"epoch 2, batch 3, before backward and the optimizer step") as err:
        train.fit(model, batches, epochs=3, callbacks=[Spoil()], verbose=False,
                  optimizer=torch.optim.Adam(model.parameters(), lr=0.1))
    assert "nan" in str(err.value) and "lower the learning rate" in str(err.value)
    assert same_weights(model.state_dict(), seen[(2, 2)])  # the weights after the last good batch
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_gradient_clipping():
    x, y = blobs(64)
    norms = []

    class Probe:
        def on_after_backward(self, run):
            norms.append(torch.cat([p.grad.flatten() for p in run.model.parameters()]).norm().item())

    model = nn.Linear(2, 3)
    hist = train.fit(model, train.TensorLoader(10 * x, y, batch_size=16), epochs=2, verbose=False,
                     callbacks=[train.GradClip(0.05), Probe()], optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert len(norms) == 8 and max(norms) <= 0.05 + 1e-6
    assert len(hist.steps["grad_norm"]) == 8 and max(hist.steps["grad_norm"]) > 0.5  # clipping did act
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        train.GradClip(0)


class Generator(nn.Module):
    latent_dim = 2

    def __init__(self):
        super().__init__()
        self.net = nn.Linear(2, 2)

    def forward(self, z):
        return self.net(z)


def test_adversarial_loop_records_both_losses(capsys):
    torch.manual_seed(0)
    real = torch.randn(256, 2) * 0.5 + torch.tensor([3.0, -2.0])
    gen, disc = Generator(), nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    start = gen.net.bias.detach().clone()
    loader = train.TensorLoader(real, torch.zeros(256), batch_size=32, shuffle=True, seed=0)
    hist = train.fit_adversarial(gen, disc, loader,
                                 torch.optim.Adam(gen.parameters(), lr=0.05, betas=(0.5, 0.999)),
                                 torch.optim.Adam(disc.parameters(), lr=0.05, betas=(0.5, 0.999)), epochs=4)
    assert hist.keys() == ["d_loss", "d_real_acc", "d_fake_acc", "g_loss", "seconds"] and len(hist) == 4
    assert all(math.isfinite(v) for k in hist.keys() for v in hist[k])
    with torch.no_grad():
        fake_mean = gen(torch.randn(512, 2)).mean(0)
    target = torch.tensor([3.0, -2.0])
    assert (fake_mean - target).norm() < 0.5 * (start - target).norm()  # the generator moved towards the data
    assert re.match(r"epoch  1  d loss \d\.\d{4} real acc \d\.\d{3} fake acc \d\.\d{3}  \|  g loss \d\.\d{4}",
                    capsys.readouterr().out)
    with pytest.raises(TypeError, match="must return a dict with a 'loss' entry"):
        train.fit_adversarial(gen, disc, [real[:4]], None, None, d_step=lambda g, d, b: d(b).mean())


def test_history_named_series():
    h = train.History(train_loss=[1.0, 0.5, 0.7], val_acc=[0.2, 0.6, 0.6])
    assert h["train_loss"] is h.train_loss and len(h) == 3 and "val_acc" in h
    assert h.best("train_loss") == (2, 0.5) and h.best("val_acc") == (2, 0.6)  # the first of equal values
    assert h.best("val_acc", mode="min") == (1, 0.2)
    assert h.val_loss == [] and h["train_acc"] == []  # the classic names read as empty when not recorded
    with pytest.raises(KeyError, match="no series 'val_psnr'"):
        h["val_psnr"]
    with pytest.raises(AttributeError):
        h.val_psnr
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        h.best("val_acc", mode="lowest")
    clone = copy.deepcopy(h)
    clone.log("train_loss", 0.1)
    assert len(h.train_loss) == 3 and len(clone.train_loss) == 4
    assert list(h.frame().index) == [1, 2, 3] and list(h.frame().columns) == ["train_loss", "val_acc"]
    with pytest.raises(ValueError, match="different lengths"):
        clone.frame()


def test_random_crop_flip_is_a_crop_of_the_padded_image():
    torch.manual_seed(0)
    x = torch.rand(6, 2, 5, 7)
    assert torch.equal(train.random_crop_flip(pad=0, flip=False)(x), x)
    out = train.random_crop_flip(pad=2)(x)
    assert out.shape == x.shape and out.is_contiguous()
    padded = nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(6):
        crops = [c for dy in range(5) for dx in range(5) for c in
                 (padded[i, :, dy:dy + 5, dx:dx + 7], padded[i, :, dy:dy + 5, dx:dx + 7].flip(-1))]
        assert any(torch.equal(out[i], c) for c in crops)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        train.random_crop_flip()(torch.rand(3, 5, 5))


def test_augment_applies_to_training_batches_only():
    x, y = images(64)
    calls = []

    def augment(xb):
        calls.append(len(xb))
        return train.random_crop_flip(pad=1)(xb)

    torch.manual_seed(0)
    model = small_cnn(0.0)
    hist = train.fit(model, train.TensorLoader(x, y, batch_size=16), train.TensorLoader(x, y, batch_size=64), epochs=2,
                     augment=augment, verbose=False)
    assert calls == [16] * 8 and len(hist) == 2
    torch.manual_seed(0)
    plain = train.fit(small_cnn(0.0), train.TensorLoader(x, y, batch_size=16), epochs=2, verbose=False)
    assert hist.train_loss != plain.train_loss  # the augmented run saw other images


def test_channels_last_and_bf16_flags_on_cpu():
    x, y = images(64)
    runs = {}
    for flags in ({}, {"channels_last": True}, {"bf16": True}):
        torch.manual_seed(0)
        runs[tuple(flags)] = train.fit(small_cnn(0.0), train.TensorLoader(x, y, batch_size=16),
                                       train.TensorLoader(x, y, batch_size=64), epochs=2, verbose=False, **flags)
    base = runs[()].train_loss
    assert runs[("channels_last",)].train_loss == pytest.approx(base, rel=1e-4)
    assert runs[("bf16",)].train_loss == pytest.approx(base, rel=0.05)  # bfloat16 keeps ~3 significant digits


def test_progress_bar_shows_the_step_numbers(monkeypatch):
    import tqdm.auto

    shown = []

    class Bar:
        def __init__(self, iterable, **kwargs):
            self.iterable = iterable

        def __iter__(self):
            return iter(self.iterable)

        def set_postfix(self, values, refresh=True):
            shown.append(values)

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("DIC_QUIET", raising=False)
    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    x, y = blobs(64)
    train.fit(nn.Linear(2, 3), train.TensorLoader(x, y, batch_size=16), epochs=1, verbose=False)
    assert shown and set(shown[0]) == {"loss", "acc"}


def test_tensor_loader_dataset_length_is_the_number_of_examples():
    from helpers.train import TensorLoader

    loader = TensorLoader(torch.zeros(10, 2), torch.zeros(10, dtype=torch.long), batch_size=4)
    assert len(loader) == 3 and len(loader.dataset) == 10
    assert torch.equal(loader.dataset[3][0], torch.zeros(2))
