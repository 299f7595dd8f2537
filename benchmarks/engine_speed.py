"""One LeNet-5 training epoch on Fashion-MNIST's 60,000 images: the engine (``train.fit``) vs a
plain hand-written loop.

    python benchmarks/engine_speed.py [--limit N] [--batch-size 64] [--repeats 3]
                                      [--device cuda] [--bf16] [--channels-last] [--compile]

Both arms do the same work per batch on the same resident ``TensorLoader``: forward,
cross-entropy, zero_grad, backward, SGD step, and the running loss and accuracy an epoch line
needs (``loss.item()``, correct count). The engine adds what makes it an engine: the step
call, the finite-loss check before backward, the callback hooks and the History. The flags
apply to both arms. Arms alternate, each run on a fresh model with the same seed; the best
of ``--repeats`` counts. Prints seconds per epoch and the ratio engine / loop (goal: <= 1.05).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import platform
import time

import torch
import torch.nn.functional as F

from helpers import config, data
from helpers.models import lenet5
from helpers.train import TensorLoader, fit

MEAN, STD = (0.2860,), (0.3530,)  # Fashion-MNIST training-set statistics


def plain_loop(model, loader, optimizer, device, bf16: bool, channels_last: bool) -> tuple[float, float]:
    """One epoch written out by hand; returns (mean loss, accuracy)."""
    model.train()
    total, correct, count = 0.0, 0, 0
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    for xb, yb in loader:
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with autocast:
            out = model(xb)
            loss = F.cross_entropy(out, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
        correct += (out.argmax(1) == yb).sum().item()
        count += len(xb)
    return total / count, correct / count


def timed(run, device) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of ``run()``; on a shared machine the CPU
    seconds are the steadier figure, on a GPU the wall seconds are the one that counts."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default=None)
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (CUDA)")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    args = parser.parse_args()
    if os.environ.get("DIC_THREADS"):
        torch.set_num_threads(int(os.environ["DIC_THREADS"]))
    device = config.pick_device(args.device)
    raw = data.get_dataset("fashion_mnist", "train")
    loader = TensorLoader.from_dataset(raw, limit=args.limit, mean=MEAN, std=STD, batch_size=args.batch_size,
                                       shuffle=True, seed=0, device=device)
    warmup = TensorLoader(loader.x[:10 * args.batch_size], loader.y[:10 * args.batch_size], batch_size=args.batch_size)
    flags = [name for name, on in (("bf16", args.bf16), ("channels_last", args.channels_last),
                                   ("compile", args.compile)) if on]
    print(f"device {device.type}, {torch.get_num_threads()} threads, {os.cpu_count()} cores "
          f"({platform.processor() or platform.machine()}), torch {torch.__version__}, {len(loader.x):,} images, "
          f"batch {args.batch_size}, lenet5, flags: {', '.join(flags) or 'none'}")

    def fresh():
        torch.manual_seed(0)
        model = lenet5(in_channels=1, num_classes=10).to(device)
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
        net = torch.compile(model) if args.compile else model
        return model, net, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def engine(data_loader):
        model, _, opt = fresh()
        fit(model, data_loader, epochs=1, optimizer=opt, verbose=False, bf16=args.bf16,
            channels_last=args.channels_last, compile_model=args.compile)

    def loop(data_loader):
        _, net, opt = fresh()
        plain_loop(net, data_loader, opt, device, args.bf16, args.channels_last)

    arms = {"plain loop": loop, "engine (train.fit)": engine}
    for arm in arms.values():
        arm(warmup)
    times = {name: [] for name in arms}
    for _ in range(args.repeats):
        for name, arm in arms.items():
            times[name].append(timed(lambda: arm(loader), device))

    print("\n| path | best wall s/epoch | best CPU s/epoch | all runs, wall (s) |")
    print("|---|---:|---:|---|")
    for name, runs in times.items():
        print(f"| {name} | {min(w for w, _ in runs):.3f} | {min(c for _, c in runs):.3f} | "
              f"{', '.join(f'{w:.3f}' for w, _ in runs)} |")
    for i, clock in enumerate(("wall", "CPU")):
        ratio = min(r[i] for r in times["engine (train.fit)"]) / min(r[i] for r in times["plain loop"])
        print(f"ratio engine / plain loop, {clock} time (best of {args.repeats}) = {ratio:.3f}  (goal: <= 1.05)")


if __name__ == "__main__":
    main()
