"""Naive loops vs stride tricks for the scratch convolution, forward and backward, on one batch.

    PYTHONPATH=. python benchmarks/conv_speed.py [--batch 50] [--size 32] [--channels 3] [--filters 16] [--kernel 3] [--repeat 5]

Input x (N, C, H, H), filters (F, C, k, k), stride 1, padding (k - 1) / 2 ("same"). The naive
loops run once (seconds), the fast path ``--repeat`` times (best taken). Checks that both give
the same output and gradients, then prints the times and the speed-up ratio (a table in
Markdown; the recorded run is benchmarks/results/conv_speed.md). NumPy's BLAS
threads follow OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (this script sets neither).
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from helpers.scratch import (conv_backward_fast, conv_backward_naive, conv_forward_fast, conv_forward_naive,
                             rel_error)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.kernel % 2 == 0:
        parser.error("--kernel must be odd, so that padding (k - 1) / 2 keeps the size")

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.channels, args.size, args.size))
    w = rng.normal(size=(args.filters, args.channels, args.kernel, args.kernel))
    b = rng.normal(size=args.filters)
    param = {"stride": 1, "pad": (args.kernel - 1) // 2}
    print(f"x {x.shape}, w {w.shape}, {param}, float64; numpy {np.__version__}, python {platform.python_version()}, "
          f"{os.cpu_count()} cores, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")

    start = time.perf_counter()
    out_naive, cache_naive = conv_forward_naive(x, w, b, param)
    t_fwd_naive = time.perf_counter() - start
    dout = rng.normal(size=out_naive.shape)
    start = time.perf_counter()
    grads_naive = conv_backward_naive(dout, cache_naive)
    t_bwd_naive = time.perf_counter() - start

    out_fast, cache_fast = conv_forward_fast(x, w, b, param)
    grads_fast = conv_backward_fast(dout, cache_fast)
    worst = max(rel_error(a, c) for a, c in zip((out_fast, *grads_fast), (out_naive, *grads_naive)))
    if worst > 1e-9:
        raise SystemExit(f"fast and naive disagree: relative error {worst:.2e}")
    t_fwd_fast = best_of(lambda: conv_forward_fast(x, w, b, param), args.repeat)
    t_bwd_fast = best_of(lambda: conv_backward_fast(dout, cache_fast), args.repeat)

    print(f"largest relative error fast vs naive (output, dx, dw, db): {worst:.1e}")
    print("\n| pass | naive (s) | fast (s) | speed-up |")
    print("|---|---:|---:|---:|")
    for name, naive, fast in (("forward", t_fwd_naive, t_fwd_fast), ("backward", t_bwd_naive, t_bwd_fast),
                              ("forward + backward", t_fwd_naive + t_bwd_naive, t_fwd_fast + t_bwd_fast)):
        print(f"| {name} | {naive:.3f} | {fast:.4f} | {naive / fast:.0f}x |")


if __name__ == "__main__":
    main()
