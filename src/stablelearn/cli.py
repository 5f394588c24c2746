"""``stablelearn``: list the reproductions, run them into a resumable run folder, render reports.

Exit codes: 0 every experiment ran; 1 an experiment raised (the others still ran, the traceback is
in the report); 2 a usage error or a malformed run folder (one line on stderr, naming the argument or
the file); 130 interrupted (finished cells are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from stablelearn._conventions import check_int

__all__ = ["main"]


class UsageError(Exception):
    """A mistake in the command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]  # one line, no usage dump
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="stablelearn", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="the experiments, with the expected time of each profile on 2 cores")
    r = sub.add_parser("reproduce", help="run experiments into a run folder and write its report")
    r.add_argument("names", nargs="*", metavar="NAME", help="experiments to run (default: all)")
    r.add_argument("--profile", default="quick", choices=("quick", "full"))
    r.add_argument("--out", default=None, help="run folder (default runs/<timestamp>); re-use one to resume")
    r.add_argument("--executor", default="local", choices=("local", "ray"))
    r.add_argument("--address", default=None, help="address of a running Ray cluster (executor ray)")
    r.add_argument("--jobs", type=int, default=1, help="worker processes for the cells of a sweep")
    r.add_argument("--seed", type=int, default=0, help="the run's seed, 0 <= N < 2**32 (default 0)")
    r.add_argument("--fresh", action="store_true", help="ignore finished cells in --out and recompute")
    rep = sub.add_parser("report", help="re-render report.html and report.md of a run folder")
    rep.add_argument("dir")
    return p


def _cmd_list() -> int:
    from stablelearn.runtime import experiments

    rows = [("experiment", "quick", "full", "description")]
    rows += [(e.name, e.expected_time.get("quick", "?"), e.expected_time.get("full", "?"), e.description)
             for e in experiments().values()]
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    print("expected time of each profile on 2 cores:")
    for name, quick, full, desc in rows:
        print(f"{name:<{w[0]}}  {quick:>{w[1]}}  {full:>{w[2]}}  {desc}")
    return 0


def _checked(value: int, name: str, **bounds: int) -> int:
    try:
        return check_int(value, name, **bounds)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _writable_out(out: str | None) -> Path:
    path = Path(out) if out else Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--out {str(path)!r} is not writable: {exc.strerror or exc}") from None
    return path


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from stablelearn.runtime import experiments, get_executor, get_experiment, run_experiment
    from stablelearn.runtime.runfolder import write_json

    _checked(args.jobs, "--jobs", low=1)
    _checked(args.seed, "--seed", low=0, high=2**32 - 1)
    if args.address and args.executor != "ray":
        raise UsageError("--address needs --executor ray")
    try:  # only the named experiments' modules are imported
        available = {n: get_experiment(n) for n in dict.fromkeys(args.names)} if args.names else experiments()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    names = list(available)
    try:
        executor = get_executor(args.executor, jobs=args.jobs, address=args.address)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out = _writable_out(args.out)
    write_json(out / "run.json", {"experiments": names, "profile": args.profile, "seed": args.seed,
                                  "executor": args.executor, "jobs": args.jobs})
    print(f"run folder: {out}", file=sys.stderr)
    failed = []
    t0 = time.perf_counter()
    try:
        for name in tqdm(names, desc="experiments", disable=None):
            rec = run_experiment(available[name], out, profile=args.profile, seed=args.seed,
                                 executor=executor, fresh=args.fresh)
            held = sum(c["holds"] is True for c in rec["claims"])
            msg = f"{name}: {rec['status']}, claims held {held}/{len(rec['claims'])}, {rec['wall_time']:.1f} s"
            tqdm.write(msg, file=sys.stderr)
            if rec["status"] != "ok":
                failed.append(name)
    except KeyboardInterrupt:
        print("interrupted: finished cells are kept; run the same command to resume", file=sys.stderr)
        _render(out)
        return 130
    finally:
        executor.close()
    report = _render(out)
    print(f"report: {report} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)} (tracebacks in the report)", file=sys.stderr)
        return 1
    return 0


def _render(out: str | Path) -> Path:
    """Render the run folder's reports; a malformed folder or an unwritable report is a usage error."""
    from stablelearn.runtime import render_report

    try:
        return render_report(out)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write the report in {str(out)!r}: {exc.strerror or exc}") from None


def _cmd_report(args: argparse.Namespace) -> int:
    print(_render(args.dir))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status (see the module docstring).
    """
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        args = _parser().parse_args(argv)
        if args.command == "list":
            return _cmd_list()
        if args.command == "reproduce":
            return _cmd_reproduce(args)
        return _cmd_report(args)
    except UsageError as exc:
        print(f"stablelearn: error: {' '.join(str(exc).splitlines())}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
