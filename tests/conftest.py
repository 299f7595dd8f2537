"""Shared test set-up: notebooks under tests/ are fixtures, never collected by nbval."""
import os

os.environ.setdefault("DIC_QUIET", "1")

# One thread per test process, as the notebooks have (DIC_THREADS, set by the Makefile). With the
# default (one per core), two xdist workers, the nbval kernels and the graders' kernels oversubscribe a
# 2-core machine: in CI (2026-12-02) test_models and test_checks_papers took 393 s and 382 s, against
# 14 s and 9 s when run alone; beside two busy processes, test_checks_papers takes 90 s with torch's
# default threads and 16 s with one (2026-12-02, 2-core Xeon).
if threads := os.environ.get("DIC_THREADS"):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, threads)
    import torch

    torch.set_num_threads(int(threads))

collect_ignore_glob = ["*.ipynb", "**/*.ipynb"]
