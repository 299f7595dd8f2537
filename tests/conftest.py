"""Shared test set-up: notebooks under tests/ are fixtures, never collected by nbval."""
import os

os.environ.setdefault("DIC_QUIET", "1")

collect_ignore_glob = ["*.ipynb", "**/*.ipynb"]
