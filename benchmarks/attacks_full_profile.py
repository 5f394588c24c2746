"""Run the ``attacks`` reproduction's full profile, or the session-sized cut of it, resumably.

    python benchmarks/attacks_full_profile.py --config full --out runs/attacks-full --jobs 2
    python benchmarks/attacks_full_profile.py --config session --out runs/attacks-session --jobs 2

``full`` is ``stablelearn reproduce attacks --profile full`` (the same cells, so either command resumes the
other's run folder); ``session`` is :data:`stablelearn.experiments.attacks.SESSION` (the primary configuration's
claims at 4K queries, 100 images x 3 seeds). Cells run in priority order (the claims' methods seed by seed), and
finished cells are kept, so an interrupted run loses only the cells in flight. ``--available`` renders the
report from the finished cells alone (computing nothing): methods and seeds with a missing image chunk are
left out, and the report says how many cells it used.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

from _common import print_table, write_results

from stablelearn.experiments.attacks import EXPERIMENT, FULL, SESSION
from stablelearn.runtime import run_experiment
from stablelearn.runtime.executors import Executor, LocalExecutor


class CacheOnly(Executor):
    """Runs nothing: every cell that is not already finished stays missing."""

    def imap(self, fn, items):
        return iter(())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", choices=("full", "session"), default="full")
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--available", action="store_true", help="report from the finished cells only")
    args = ap.parse_args()
    exp = dataclasses.replace(EXPERIMENT, full=FULL if args.config == "full" else SESSION)
    t = time.perf_counter()
    executor = CacheOnly() if args.available else LocalExecutor(args.jobs)
    rec = run_experiment(exp, args.out, profile="full", executor=executor, progress=False)
    wall = time.perf_counter() - t
    if rec["status"] != "ok":
        print(rec.get("error"))
    rows = [[c["statement"][:60], c["verdict"]] for c in rec["claims"]]
    table = print_table(f"attacks {args.config}: claims ({wall:.0f} s)", ["claim", "verdict"], rows)
    write_results(f"attacks_{args.config}_profile", {"claims": table, "wall_s": wall, "status": rec["status"],
                                                     "error": rec.get("error")})


if __name__ == "__main__":
    main()
