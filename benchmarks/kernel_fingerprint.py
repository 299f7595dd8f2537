"""Which kernel gives different bytes on another CPU? ``python benchmarks/kernel_fingerprint.py [--compare FILE]``

The reproducible mode (``helpers/reproducible.env``, ``helpers.config``) promises the same outputs on every
x86-64 CPU; a notebook that differs on another machine says *that* something differs, not *what*. This
script runs the operations the course's training loops are made of, each on fixed inputs in the mode, and
prints one short hash per result: matrix products of the shapes the notebooks use (odd batch remainders
included, both transposes of the backward pass), convolutions forward and backward, the losses, the
element-wise maths, the random draws, one Adam step, and short training runs whose per-step losses are
hashed so the first step that differs is visible. ``--json FILE`` writes the hashes; ``--compare FILE``
reads another machine's and lists every probe whose bytes differ (exit 1 if any), so two runs, one per CPU,
name the kernel to fix. ``--emulate QEMU_CPU`` needs no second machine: it runs the probes again under qemu's
emulation of another CPU (``qemu-x86_64 -cpu Haswell``, an Intel one) and compares; that is how the kernels
whose last bits depend on the CPU's maker were found (``helpers.config.MAKER_DEPENDENT``). Nothing is timed.

Run it through ``make``'s environment so the mode's variables are set before the libraries load:
``make fingerprint`` (or ``make fingerprint ARGS="--compare benchmarks/results/fingerprint_<cpu>.json"``,
``make fingerprint ARGS="--emulate Haswell"``).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from helpers import config  # noqa: E402


def digest(value) -> str:
    """12 hex digits of the result's bytes (a tensor, an array, a float or a list of them)."""
    if isinstance(value, (list, tuple)):
        return hashlib.sha256("".join(digest(v) for v in value).encode()).hexdigest()[:12]
    if isinstance(value, torch.Tensor):
        value = value.detach().contiguous().numpy()
    return hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:12]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def matmuls() -> dict:
    """Forward and both backward products of the linear layers the notebooks train (batch sizes 64, 128, 256,
    their last partial batches, 1000-image evaluation batches)."""
    out = {}
    shapes = [(64, 784, 256), (40, 784, 256), (1000, 784, 256), (64, 256, 256), (40, 256, 10), (128, 784, 128),
              (256, 75, 256), (48, 75, 256), (4096, 75, 256), (256, 256, 128), (64, 120, 84), (7, 13, 5)]
    for i, (m, k, n) in enumerate(shapes):
        x, w = torch.randn(m, k, generator=gen(i)), torch.randn(n, k, generator=gen(100 + i))
        dy = torch.randn(m, n, generator=gen(200 + i))
        out[f"linear {m}x{k}->{n}"] = digest(F.linear(x, w))
        out[f"linear {m}x{k}->{n}: dx"] = digest(dy @ w)
        out[f"linear {m}x{k}->{n}: dw"] = digest(dy.t() @ x)
    a = np.random.default_rng(0).normal(size=(300, 75))
    out["numpy matmul f64 300x75 @ 75x300"] = digest(a @ a.T)
    out["numpy matmul f32 300x75 @ 75x300"] = digest(a.astype(np.float32) @ a.astype(np.float32).T)
    return out


def convolutions() -> dict:
    out = {}
    for i, (n, c, h, o, k) in enumerate([(8, 1, 28, 6, 5), (8, 3, 32, 16, 3), (4, 16, 14, 32, 3), (8, 6, 14, 16, 5)]):
        x = torch.randn(n, c, h, h, generator=gen(300 + i), requires_grad=True)
        w = torch.randn(o, c, k, k, generator=gen(400 + i), requires_grad=True)
        y = F.conv2d(x, w, padding=k // 2)
        y.backward(torch.randn(y.shape, generator=gen(500 + i)))
        name = f"conv2d {n}x{c}x{h}x{h} * {o}x{c}x{k}x{k}"
        out[name] = digest(y)
        out[f"{name}: dx"], out[f"{name}: dw"] = digest(x.grad), digest(w.grad)
        out[f"{name}: max_pool2d"] = digest(F.max_pool2d(y.detach(), 2))
    return out


def elementwise() -> dict:
    x = torch.randn(1000, 10, generator=gen(600)) * 5
    y = torch.randint(0, 10, (1000,), generator=gen(601))
    xg = x.clone().requires_grad_()
    loss = F.cross_entropy(xg, y)
    loss.backward()
    a = np.random.default_rng(1).normal(size=10_000) * 3
    bn = nn.BatchNorm1d(10)
    return {"exp": digest(x.exp()), "log": digest(x.abs().add(1).log()), "tanh": digest(x.tanh()),
            "sigmoid": digest(x.sigmoid()), "softmax": digest(x.softmax(1)), "log_softmax": digest(x.log_softmax(1)),
            "cross_entropy": digest(loss), "cross_entropy backward": digest(xg.grad), "sum": digest(x.sum(0)),
            "mean/var": digest([x.mean(0), x.var(0)]), "batch_norm train": digest(bn(x)), "sqrt": digest(x.abs().sqrt()),
            "sqrt_ in place, log2, asin, acos, atan": digest([x.abs().sqrt_(), x.abs().add(1).log2(),
                                                             (x / 20).asin(), (x / 20).acos(), x.atan()]),
            "numpy exp/log/tanh f64": digest([np.exp(a), np.log1p(np.abs(a)), np.tanh(a)]),
            "numpy exp/log f32": digest([np.exp(a.astype(np.float32)), np.log1p(np.abs(a).astype(np.float32))]),
            "numpy sum/mean/std f32": digest([a.astype(np.float32).sum(), a.astype(np.float32).std()])}


def random_draws() -> dict:
    torch.manual_seed(0)
    drop = F.dropout(torch.ones(1000, 100), 0.3, training=True)
    torch.manual_seed(3)
    linear = nn.Linear(784, 256)
    return {"torch.randn": digest(torch.randn(10_000, generator=gen(700))),
            "torch.rand": digest(torch.rand(10_000, generator=gen(701))),
            "torch.randperm": digest(torch.randperm(50_000, generator=gen(702))),
            "bernoulli (dropout mask)": digest(drop),
            "nn.Linear init": digest(list(linear.parameters())),
            "numpy default_rng normal/gamma/poisson": digest([np.random.default_rng(5).normal(size=1000),
                                                               np.random.default_rng(5).gamma(2.0, size=1000),
                                                               np.random.default_rng(5).poisson(3.0, size=1000)])}


def adam_step() -> dict:
    p = torch.randn(256, 784, generator=gen(800), requires_grad=True)
    opt = torch.optim.Adam([p], lr=1e-3)
    out = {}
    for t in range(3):
        p.grad = torch.randn(p.shape, generator=gen(810 + t)) * 0.01
        opt.step()
        out[f"adam step {t + 1}"] = digest(p)
    return out


def optimiser_steps() -> dict:
    """Three steps of each optimiser whose update takes a square root (and SGD with Nesterov momentum)."""
    out = {}
    for name, make in (("adamw", lambda ps: torch.optim.AdamW(ps, lr=1e-3)),
                       ("rmsprop", lambda ps: torch.optim.RMSprop(ps, lr=1e-3)),
                       ("rmsprop centred", lambda ps: torch.optim.RMSprop(ps, lr=1e-3, centered=True)),
                       ("adagrad", lambda ps: torch.optim.Adagrad(ps, lr=1e-2)),
                       ("sgd nesterov", lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9, nesterov=True))):
        p = torch.randn(128, 256, generator=gen(850), requires_grad=True)
        opt = make([p])
        for t in range(3):
            p.grad = torch.randn(p.shape, generator=gen(860 + t)) * 0.01
            opt.step()
        out[name] = digest(p)
    return out


def training() -> dict:
    """Short runs like week2/05 (an MLP on 1,000 images, batches of 64 with a last one of 40, Adam) and a small
    CNN: one hash per step's loss, so the first step whose bytes differ is visible."""
    out = {}
    x = torch.randn(1000, 1, 28, 28, generator=gen(900))
    y = torch.randint(0, 10, (1000,), generator=gen(901))
    for name, make in (("mlp 784-256-256-10", lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(),
                                                                    nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))),
                       ("cnn", lambda: nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                                     nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                                     nn.Linear(400, 10)))):
        torch.manual_seed(0)
        model = make()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        order = torch.randperm(1000, generator=gen(902))
        losses = []
        for epoch in range(2):
            for start in range(0, 1000, 64):
                idx = order[start:start + 64]
                loss = F.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(loss.detach().clone())
        first = [digest(l) for l in losses]
        out[f"train {name}: loss of step 1"] = first[0]
        out[f"train {name}: losses of steps 1-16"] = digest(losses[:16])
        out[f"train {name}: losses of steps 17-32"] = digest(losses[16:])
        out[f"train {name}: weights after 32 steps"] = digest(list(model.parameters()))
        out[f"train {name}: per-step"] = first
    return out


def cpu() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return " ".join(fields.get(k, "?").strip() for k in ("Vendor ID", "Model name", "CPU family", "Model"))


def emulated(qemu_cpu: str) -> Path:
    """The fingerprint of this script run under qemu's user-mode emulation of ``qemu_cpu``, as a --json file.

    An emulated CPU runs the same instructions as this one, except that qemu computes the estimate instructions
    (reciprocal, reciprocal square root) its own way, as each CPU maker does: a kernel that depends on them
    differs here as it would on another maker's CPU. Needs ``qemu-x86_64`` (Debian: qemu-user); about a minute.
    """
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        sys.exit("--emulate needs qemu-x86_64: apt-get install qemu-user (Debian/Ubuntu)")
    out = Path(tempfile.mkdtemp(prefix="fingerprint-")) / f"emulated-{qemu_cpu}.json"
    run = subprocess.run([qemu, "-cpu", qemu_cpu, sys.executable, __file__, "--json", str(out)],
                         capture_output=True, text=True)
    if run.returncode != 0 or not out.exists():
        tail = "\n".join(line for line in run.stderr.splitlines() if "TCG doesn't support" not in line)[-2000:]
        sys.exit(f"the run under qemu -cpu {qemu_cpu} failed (exit {run.returncode}):\n{tail}")
    record = json.loads(out.read_text())
    record["cpu"] = f"qemu -cpu {qemu_cpu} (emulated on this machine)"
    out.write_text(json.dumps(record))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the hashes to this file")
    parser.add_argument("--compare", type=Path, help="another machine's --json file: list what differs")
    parser.add_argument("--emulate", metavar="QEMU_CPU",
                        help="also run under qemu-x86_64 -cpu QEMU_CPU (e.g. Haswell, an Intel CPU; EPYC-Milan) and "
                             "compare: another maker's CPU on this machine (Debian package qemu-user)")
    args = parser.parse_args(argv)
    if args.emulate:
        args.compare = emulated(args.emulate)
    config.setup()
    probes = {}
    for part in (matmuls, convolutions, elementwise, random_draws, adam_step, optimiser_steps, training):
        probes.update({f"{part.__name__}: {k}": v for k, v in part().items()})
    record = {"cpu": cpu(), "torch": torch.__version__, "numpy": np.__version__, "probes": probes}
    for name, value in probes.items():
        if not isinstance(value, list):
            print(f"{value}  {name}")
    print(f"{len(probes)} probes on {record['cpu']}")
    if args.json:
        args.json.write_text(json.dumps(record, indent=1) + "\n")
    if args.compare:
        other = json.loads(args.compare.read_text())
        differ = [k for k in probes if k in other["probes"] and other["probes"][k] != probes[k]]
        print(f"compared with {other['cpu']}: {len(differ)} of {len(probes)} probes differ")
        for k in differ:
            mine, theirs = probes[k], other["probes"][k]
            if isinstance(mine, list):
                step = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), None)
                print(f"  {k}: first differing step {None if step is None else step + 1}")
            else:
                print(f"  {k}: {theirs} there, {mine} here")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
