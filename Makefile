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
# another CPU, emulated on this one: oneDNN, MKL and OpenBLAS held to AVX2 kernels (make test-other-cpu)
OTHER_CPU := ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 OPENBLAS_CORETYPE=Haswell
# fixed thread count + quiet progress bars: same machine and profile -> same outputs
export DIC_THREADS ?= 1
export DIC_QUIET ?= 1
export PYTHONHASHSEED := 0
WEEKS = $(shell $(PY) -m helpers.course)
JOBS ?= 2

NBVAL := --nbval --nbval-current-env --nbval-cell-timeout=120 --nbval-sanitize-with tests/nbval_sanitize.cfg
PLUGINS := -p tests.time_table -p tests.portable_nbval

.PHONY: setup lock data run test test-other-cpu lab refresh bench clean help
help:
	@echo "make run      set up, provision data, execute every notebook (build/), print a table"
	@echo "make test     set up, provision data, pytest: helpers, notebooks (nbval), grading"
	@echo "make test-other-cpu  the notebooks under nbval again, with AVX2-only kernels (another CPU)"
	@echo "make lock     re-resolve pyproject.toml's dependencies into requirements.lock"
	@echo "make lab      JupyterLab on the course with the project's kernel"
	@echo "make data     provision every dataset into \$$DIC_DATA (default ./data)"
	@echo "make refresh  re-execute notebooks in place (fresh committed outputs, quick profile)"
	@echo "make bench    run the benchmark scripts"

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
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (Deep into CNNs)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP)

lock: setup
	$(PY) .ci/lock.py

data: setup
	$(PY) -m helpers.data prepare

run: data
	DIC_PROFILE=$${DIC_PROFILE:-quick} $(PY) -m helpers.runner

test: data grading-sandbox
	DIC_PROFILE=quick $(PY) -m pytest -n $(JOBS) --dist loadscope $(PLUGINS) $(NBVAL) tests $(WEEKS)

test-other-cpu: data
	$(OTHER_CPU) DIC_PROFILE=quick $(PY) -m pytest -n $(JOBS) --dist loadscope $(PLUGINS) $(NBVAL) $(WEEKS)

lab: data
	$(VENV)/bin/jupyter lab --notebook-dir=$(CURDIR)

refresh: data
	DIC_PROFILE=quick $(PY) -m helpers.runner --inplace $(or $(NB),$(WEEKS))

bench: setup
	$(PY) benchmarks/loader_speed.py
	$(PY) benchmarks/models_table.py --quick
	$(PY) benchmarks/speed_run.py --quick

clean:
	rm -rf build

# -- mentors (MENTORS.md): release student notebooks, grade submissions, formgrader -------------
GRADING ?= build/grading
WEEK ?=
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
	$(PY) -m helpers.grading --root $(GRADING) release $(foreach w,$(WEEK),--week $(w))

grade: data grading-sandbox
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=path/ [WEEK=week1] [GRADE_ARGS='--jobs 4']"; exit 2; }
	$(PY) -m helpers.grading --root $(GRADING) grade --submissions $(SUBMISSIONS) $(foreach w,$(WEEK),--week $(w)) $(GRADE_ARGS)

formgrader: data
	$(VENV)/bin/jupyter lab --notebook-dir=$(CURDIR) --ServerApp.default_url=/formgrader

# hackathon leaderboards (MENTORS.md "Leaderboard"): validate, score and rank every submission.csv
HACKATHON ?=
LEADERBOARD_ARGS ?=
.PHONY: leaderboard

leaderboard: data
	@test -n "$(HACKATHON)" -a -n "$(SUBMISSIONS)" || { echo "usage: make leaderboard HACKATHON=1|2 SUBMISSIONS=path/ [LEADERBOARD_ARGS='--key key.csv --out dir']"; exit 2; }
	$(PY) -m helpers.leaderboard --hackathon $(HACKATHON) --submissions $(SUBMISSIONS) $(LEADERBOARD_ARGS)
