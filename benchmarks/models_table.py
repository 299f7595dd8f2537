"""Print a Markdown table of the paper models: our parameter count against torchvision's
(or the paper's) figure, multiply-accumulates per image, and CPU seconds for one
forward pass of a batch of 8 (eval mode, no grad, median of --runs runs after one
warm-up run).

    python benchmarks/models_table.py            # everything, 3 runs each
    python benchmarks/models_table.py --quick    # 1 run, no timing for models > 5 GMACs
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchvision

from helpers import models
from helpers.models import summary

tv = torchvision.models
TV = "torchvision"
# name, our constructor, input size, reference constructor or paper count, reference source
ROWS = [
    ("lenet5", models.lenet5, 28, None, ""),
    ("alexnet", models.alexnet, 224, tv.alexnet, TV),
    ("alexnet (two_gpu)", lambda: models.alexnet(two_gpu=True), 224, 60_965_224,
     "paper Sec. 3.2 layers"),
    *[(f"vgg{d}{bn}", getattr(models, f"vgg{d}{bn}"), 224, getattr(tv, f"vgg{d}{bn}"), TV)
      for d in (11, 13, 16, 19) for bn in ("", "_bn")],
    ("googlenet (no aux)", lambda: models.googlenet(aux_logits=False), 224,
     lambda: tv.googlenet(aux_logits=False, init_weights=False), TV),
    ("googlenet (aux)", models.googlenet, 224,
     lambda: tv.googlenet(aux_logits=True, init_weights=False), TV),
    ("googlenet (paper)", lambda: models.googlenet(aux_logits=False, paper=True), 224, None, ""),
    ("xception", models.xception, 299, 22_855_952, "paper Table 3"),
    *[(f"resnet{d}", getattr(models, f"resnet{d}"), 224, getattr(tv, f"resnet{d}"), TV)
      for d in (18, 34, 50, 101, 152)],
    ("alexnet_small", models.alexnet_small, 32, None, ""),
    ("vgg_small", models.vgg_small, 32, None, ""),
    ("googlenet_small", models.googlenet_small, 32, None, ""),
    ("xception_small", models.xception_small, 32, None, ""),
    ("resnet_small (20)", models.resnet_small, 32, 269_722, "paper Table 6 (0.27M)"),
]


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def seconds_per_batch(model, size: int, runs: int, batch: int = 8) -> float:
    x = torch.randn(batch, model.in_channels, size, size)
    times = []
    with torch.no_grad():
        model(x)                                  # warm-up: allocations, kernel selection
        for _ in range(runs):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 run, skip timing above 5 GMACs")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs

    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, batch of 8\n")
    print("| model | input | params (ours) | params (reference) | reference | match | GMACs "
          "| s / batch of 8 |")
    print("|---|---|---:|---:|---|---|---:|---:|")
    for name, build, size, reference, source in ROWS:
        with torch.device("meta"):
            ours = build()
            ref = n_params(reference()) if callable(reference) else reference
        params = n_params(ours)
        macs = summary(ours, (ours.in_channels, size, size)).macs.sum()
        match = "—" if ref is None else ("yes" if ref == params else "NO")
        if args.quick and macs > 5e9:
            seconds = "skipped"
        else:
            seconds = f"{seconds_per_batch(build().eval(), size, runs):.3f}"
        ref_text = "—" if ref is None else f"{ref:,}"
        print(f"| {name} | {size}x{size} | {params:,} | {ref_text} | {source or '—'} | {match} "
              f"| {macs / 1e9:.3f} | {seconds} |", flush=True)


if __name__ == "__main__":
    main()
