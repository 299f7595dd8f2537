"""What the mode's exact square root costs: ``python benchmarks/exact_maths_cost.py [--steps N]``

In the reproducible CPU mode ``helpers.config.exact_maths()`` replaces torch's CPU ``sqrt`` (and four other
functions) with NumPy in float64, so Adam's update, which takes a square root of every parameter's second
moment each step, pays a round trip through float64. This script trains small versions of the course's
networks with Adam on fixed random batches, once in the mode with the replacement and once in the same mode
without it (each in its own process: the replacement lasts a process), alternating, ``--repeats`` times each,
and prints the fastest seconds per step of each and their ratio (a 2-core machine's step times wander by tens of
per cent from run to run; the fastest is the least disturbed). Run it through ``make``'s environment or with ``helpers/reproducible.env`` exported; nothing else should
run beside it.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

NETWORKS = ("mlp", "lenet5", "alexnet_small", "resnet_small")


def build(name: str):
    import torch
    from torch import nn

    from helpers import models

    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                             nn.Linear(256, 10))
    if name == "lenet5":
        return models.lenet5()
    return getattr(models, name)(in_channels=1)


def time_steps(steps: int, exact: bool) -> dict:
    """Seconds per Adam step (forward, backward, update) for each network, batches of 32 28x28 images."""
    import torch
    import torch.nn.functional as F

    from helpers import config

    if exact:
        config.reproducible_mode()
    else:                                              # the mode's run-time half, less exact_maths()
        torch.backends.mkldnn.enabled = torch.backends.nnpack.enabled = False
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 1, 28, 28, generator=g), torch.randint(0, 10, (32,), generator=g)
    out = {}
    for name in NETWORKS:
        torch.manual_seed(0)
        model = build(name)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for i in range(steps + 3):                     # 3 warm-up steps
            if i == 3:
                start = time.perf_counter()
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        out[name] = ((time.perf_counter() - start) / steps, sum(p.numel() for p in model.parameters()))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=("exact", "mkl"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(time_steps(args.steps, args.worker == "exact")))
        return 0
    runs = {"mkl": [], "exact": []}
    for _ in range(args.repeats):
        for kind in runs:
            done = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--worker", kind],
                                  capture_output=True, text=True, check=True)
            runs[kind].append(json.loads(done.stdout.strip().splitlines()[-1]))
    fastest = {kind: {name: min(r[name][0] for r in rs) for name in NETWORKS} for kind, rs in runs.items()}
    sizes = runs["mkl"][0]
    print(f"Adam steps of {args.steps}, batches of 32, fastest of {args.repeats} runs each")
    print(f"{'network':15s} {'parameters':>10s} {'MKL sqrt (ms)':>14s} {'exact sqrt (ms)':>16s} {'ratio':>6s}")
    for name in NETWORKS:
        mkl, exact, n = fastest["mkl"][name], fastest["exact"][name], sizes[name][1]
        print(f"{name:15s} {n:10,d} {mkl * 1e3:14.2f} {exact * 1e3:16.2f} {exact / mkl:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
