"""Run the ``attacks`` reproduction's full profile, or the session-sized cut of it, resumably.

    python benchmarks/attacks_full_profile.py --config full --out runs/attacks-full --jobs 2
    python benchmarks/attacks_full_profile.py --config session --out runs/attacks-session --jobs 2

``full`` is ``stablelearn reproduce attacks --profile full`` (the same cells, so either command resumes the
other's run folder); ``session`` is :data:`stablelearn.experiments.attacks.SESSION` (the primary configuration's
claims at 4K queries, 100 images x 3 seeds). Cells run in priority order (the claims' methods seed by seed), and
finished cells are kept, so an interrupted run loses only the cells in flight.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

from _common import print_table, write_results

from stablelearn.experiments.attacks import EXPERIMENT, FULL, SESSION
from stablelearn.runtime import run_experiment
from stablelearn.runtime.executors import LocalExecutor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", choices=("full", "session"), default="full")
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    exp = dataclasses.replace(EXPERIMENT, full=FULL if args.config == "full" else SESSION)
    t = time.perf_counter()
    rec = run_experiment(exp, args.out, profile="full", executor=LocalExecutor(args.jobs))
    wall = time.perf_counter() - t
    rows = [[c["statement"][:60], c["verdict"]] for c in rec["claims"]]
    table = print_table(f"attacks {args.config}: claims ({wall:.0f} s)", ["claim", "verdict"], rows)
    write_results(f"attacks_{args.config}_profile", {"claims": table, "wall_s": wall, "status": rec["status"],
                                                     "error": rec.get("error")})


if __name__ == "__main__":
    main()
