"""``python -m helpers.data prepare [NAME ...] [--force]`` | ``list`` | ``verify [NAME ...]``."""
from __future__ import annotations

import argparse
import sys
import time

from . import REGISTRY, DataError, data_root, prepare, verify


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.data", description=__doc__)
    parser.add_argument("command", choices=["prepare", "list", "verify"])
    parser.add_argument("names", nargs="*", help=f"datasets (default: all): {', '.join(REGISTRY)}")
    parser.add_argument("--force", action="store_true", help="rebuild even if present")
    args = parser.parse_args(argv)
    names = args.names or list(REGISTRY)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        parser.error(f"unknown dataset(s) {unknown}; known: {', '.join(REGISTRY)}")
    print(f"data root: {data_root()}")
    status = 0
    for name in names:
        start = time.perf_counter()
        try:
            if args.command == "list":
                print(f"  {name:15s} {REGISTRY[name].title}")
                continue
            manifest = prepare(name, force=args.force) if args.command == "prepare" else verify(data_root() / name, name, deep=True)
            print(f"  {name:15s} ok  {time.perf_counter() - start:5.1f}s  {manifest['source']}")
        except DataError as err:
            print(f"  {name:15s} FAILED: {err}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
