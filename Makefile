# Deep into CNNs — `make run` executes the course, `make test` tests it. Both set up first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements.lock
# the lock holds exact versions for the platform named in its header; elsewhere pyproject's ranges
PLATFORM := $(shell $(PYTHON) -c 'import platform, sys; print(f"{sys.platform} {platform.machine()} cp{sys.version_info[0]}{sys.version_info[1]}")' 2>/dev/null)
LOCKED := $(shell grep -qx '\# platform: $(PLATFORM)' $(LOCK) 2>/dev/null && echo yes)
# the reproducible CPU mode (helpers/reproducible.env, helpers/config.py): the same kernels and one thread,
# so every x86-64 CPU with AVX2 prints the committed outputs byte for byte. DIC_FAST=1 switches it off
# (faster; last digits then differ by CPU). Elsewhere (ARM, macOS) outputs run but are not compared.
MODE_VARS := $(shell sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' helpers/reproducible.env)
ifeq ($(shell uname -sm),Linux x86_64)
ifeq ($(filter-out 0,$(DIC_FAST)),)
include helpers/reproducible.env
export $(MODE_VARS)
endif
endif
export DIC_QUIET ?= 1
export PYTHONHASHSEED := 0
WEEKS = $(shell $(PY) -m helpers.course)
JOBS ?= 2
# JupyterLab refuses to run as root without this (a container's default user)
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

NBVAL := --nbval --nbval-current-env --nbval-cell-timeout=300
PLUGINS := -p tests.time_table -p tests.exact_nbval

.PHONY: setup kernel lock data run test portability reproducibility fingerprint full-profile lab mentor-lab refresh bench book clean help
help:
	@echo "make run      set up, provision data, execute every notebook (build/), print a table"
	@echo "make test     set up, provision data, pytest: helpers, notebooks (nbval), grading"
	@echo "make portability  the kernels the training loops use, on qemu's emulated Intel CPU: the same bytes (needs qemu-user)"
	@echo "make reproducibility  every notebook again with AVX2-only kernels (another CPU): outputs that differ"
	@echo "make fingerprint  hash the kernels the training loops use (ARGS=\"--compare FILE\": what differs from another CPU;"
	@echo "                  ARGS=\"--emulate Haswell\": the same kernels on an emulated Intel CPU, needs qemu-user)"
	@echo "make lock     re-resolve pyproject.toml's dependencies into requirements.lock"
	@echo "make lab      JupyterLab on the mentee edition in build/mentee (reproducible mode; DIC_FAST=1 for speed)"
	@echo "make mentor-lab  JupyterLab on the source notebooks (the mentors' copy, every solution)"
	@echo "make data     provision every dataset into \$$DIC_DATA (default ./data)"
	@echo "make refresh  re-execute notebooks in place (fresh committed outputs, quick profile)"
	@echo "make bench    run the benchmark scripts"
	@echo "make book     the executed course as a website, offline, without solutions: build/book/html (SOLUTIONS=1: mentors' edition)"
	@echo "make full-profile  every notebook with DIC_PROFILE=full on a GPU, results record in benchmarks/results/"

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
ifeq ($(LOCKED),yes)
	$(PY) -m pip install --quiet -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
else
	@echo "note: $(LOCK) is for '$$(sed -n 's/^# platform: //p' $(LOCK))', this is '$(PLATFORM)': installing pyproject.toml's ranges"
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
endif
	@touch $(STAMP)
	@$(MAKE) --no-print-directory kernel

# the Jupyter kernel spec, with the reproducible mode's environment in it (DIC_FAST=1 make kernel: without)
kernel:
	$(PY) -m helpers.config install-kernel

setup: $(STAMP)

lock: setup
	$(PY) .ci/lock.py

data: setup
	$(PY) -m helpers.data prepare

# JOBS notebooks at a time (default 2: each kernel runs one thread in the reproducible mode, so one per core);
# JOBS=1 for the per-notebook seconds of benchmarks/results/quick_profile_cpu.md, measured without a neighbour
run: data
	DIC_PROFILE=$${DIC_PROFILE:-quick} $(PY) -m helpers.runner --jobs $(JOBS)

test: data grading-sandbox
	DIC_PROFILE=quick $(PY) -m pytest -n $(JOBS) --dist loadscope --no-loadscope-reorder $(PLUGINS) $(NBVAL) -m "not portability" tests $(WEEKS)

# the mode's kernels on an emulated Intel CPU (qemu-user's Haswell): the same bytes as here (.ci/run runs it after make test)
portability: setup
	$(PY) -m pytest -q -m portability tests/test_fingerprint.py

reproducibility: data
	DIC_PROFILE=quick $(PY) benchmarks/reproducibility.py --runs 0 --avx2 --jobs $(JOBS)

# one hash per kernel the training loops use, in the reproducible mode: run it on two CPUs and compare
# (ARGS="--json FILE", ARGS="--compare FILE") to name the kernel whose bytes differ
fingerprint: setup
	$(PY) benchmarks/kernel_fingerprint.py $(ARGS)

# a mentee's JupyterLab: the mentee edition (student notebooks, helpers without answers) in $(MENTEE), made
# from `make release` the first time and never overwritten after (your work there stays; `make clean` keeps
# it), the course's kernel in the reproducible mode, progress bars on (DIC_QUIET is for CI and make run/test)
MENTEE ?= build/mentee
lab: data kernel
	@test -d $(MENTEE) || { $(PY) -m helpers.grading --root $(GRADING) release >/dev/null && \
	  cp -r $(GRADING)/bundle $(MENTEE) && echo "mentee edition written to $(MENTEE)"; }
	@echo "JupyterLab on the mentee edition in $(MENTEE) (a fresh one: move that folder away, then make lab)"
	cd $(MENTEE) && DIC_QUIET= DIC_DATA=$(abspath $(or $(DIC_DATA),data)) PYTHONPATH=$(abspath $(MENTEE)) \
	  $(abspath $(VENV))/bin/jupyter lab $(LAB_ROOT) --notebook-dir=. --LabApp.default_url=/lab/tree/week1/00_getting_started.ipynb

# the mentors' copy: the source notebooks (every solution) in JupyterLab, progress bars on
mentor-lab: data kernel
	DIC_QUIET= $(VENV)/bin/jupyter lab $(LAB_ROOT) --notebook-dir=$(CURDIR)

refresh: data
	DIC_PROFILE=quick $(PY) -m helpers.runner --inplace --jobs $(JOBS) $(or $(NB),$(WEEKS))

full-profile: data
	$(PY) benchmarks/full_profile.py

bench: setup
	$(PY) benchmarks/loader_speed.py
	$(PY) benchmarks/models_table.py --quick
	$(PY) benchmarks/speed_run.py --quick
	$(PY) benchmarks/exact_maths_cost.py

# the course as a static website from the committed outputs (nothing executed, nothing loaded from the network):
# build/book/html without solutions or hidden tests; SOLUTIONS=1 the mentors' edition in build/book-solutions/html
# (hidden tests still left out); WEEK=week1 for one week. It checks what it built (helpers/book/check.py).
SOLUTIONS ?=
book: setup
	$(PY) -m helpers.book $(if $(filter-out 0,$(SOLUTIONS)),--solutions) $(foreach w,$(WEEK),--week $(w))

clean:   # everything built, except a mentee's work in $(MENTEE)
	@test -d build && find build -mindepth 1 -maxdepth 1 ! -path $(MENTEE) -exec rm -rf {} + || true

# -- mentors (MENTORS.md): release student notebooks, grade submissions, formgrader -------------
GRADING ?= build/grading
WEEK ?=
CLOSED ?=
SUBMISSIONS ?=
GRADE_ARGS ?=
.PHONY: release grade formgrader grading-sandbox

# grading runs every student kernel under bubblewrap (MENTORS.md): install it where it is missing
grading-sandbox:
	@command -v bwrap >/dev/null && command -v prlimit >/dev/null && command -v setpriv >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing bubblewrap (the grading sandbox)"; \
	    (apt-get install -y -qq bubblewrap util-linux >/dev/null 2>&1 || \
	     { apt-get update -qq && apt-get install -y -qq bubblewrap util-linux; }); \
	  else \
	    echo "grading needs bubblewrap: sudo apt-get install bubblewrap (or your system's package), then retry"; exit 2; \
	  fi; }

release: setup
	$(PY) -m helpers.grading --root $(GRADING) release $(foreach w,$(WEEK),--week $(w)) $(foreach w,$(CLOSED),--closed $(w))

grade: data grading-sandbox
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=path/ [WEEK=week1] [GRADE_ARGS='--jobs 4']"; exit 2; }
	$(PY) -m helpers.grading --root $(GRADING) grade --submissions $(SUBMISSIONS) $(foreach w,$(WEEK),--week $(w)) $(GRADE_ARGS)

formgrader: data
	$(VENV)/bin/jupyter lab $(LAB_ROOT) --notebook-dir=$(CURDIR) --LabApp.default_url=/formgrader

# hackathon leaderboards (MENTORS.md "Leaderboard"): validate, score and rank every submission.csv
HACKATHON ?=
LEADERBOARD_ARGS ?=
.PHONY: leaderboard

leaderboard: data
	@test -n "$(HACKATHON)" -a -n "$(SUBMISSIONS)" || { echo "usage: make leaderboard HACKATHON=1|2 SUBMISSIONS=path/ [LEADERBOARD_ARGS='--key key.csv --out dir']"; exit 2; }
	$(PY) -m helpers.leaderboard --hackathon $(HACKATHON) --submissions $(SUBMISSIONS) $(LEADERBOARD_ARGS)
