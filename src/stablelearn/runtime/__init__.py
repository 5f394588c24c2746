"""Paper-agnostic machinery: experiments and claims, seeding, executors (local, Ray),
resumable sweeps, run folders and reports.

Nothing here knows about any paper: the experiments are discovered in :mod:`stablelearn.experiments`
and in the entry points of other packages (see :mod:`stablelearn.runtime.registry`).
"""

from stablelearn.runtime.executors import Executor, LocalExecutor, RayExecutor, call_seeded, get_executor
from stablelearn.runtime.experiment import (VERDICTS, Claim, Context, Experiment, Result, Table, bootstrap_ci,
                                             interval_verdict, loglog_slope, cell_cache, to_jsonable,
                                             verdict_word)
from stablelearn.runtime.registry import experiments, get_experiment, register, unregister
from stablelearn.runtime.report import render_report
from stablelearn.runtime.runfolder import load_results, run_experiment
from stablelearn.runtime.seeding import config_hash, seed_everything, seed_from
from stablelearn.runtime.sweep import cell_key, sweep

__all__ = [
    "Claim", "Context", "Experiment", "Result", "Table", "VERDICTS", "verdict_word", "interval_verdict",
    "bootstrap_ci", "loglog_slope", "cell_cache", "to_jsonable",
    "Executor", "LocalExecutor", "RayExecutor", "get_executor", "call_seeded",
    "experiments", "get_experiment", "register", "unregister",
    "run_experiment", "load_results", "render_report",
    "config_hash", "seed_everything", "seed_from", "sweep", "cell_key",
]
