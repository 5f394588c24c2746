"""The experiments registry: the built-in reproductions (imported lazily) and any registered at run time."""

from __future__ import annotations

import importlib
import traceback

from stablelearn.runtime.experiment import Context, Experiment, Result

__all__ = ["register", "unregister", "experiments", "get_experiment", "BUILTIN"]

# module name under ``stablelearn.experiments`` for each built-in experiment, in report order
BUILTIN = ("anderson", "stability", "rbno", "attacks", "depth")

_registered: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Add ``experiment`` (replacing one of the same name); returns it, so it can decorate a constant."""
    if not isinstance(experiment, Experiment):
        raise TypeError(f"expected an Experiment, got {type(experiment).__name__}")
    _registered[experiment.name] = experiment
    return experiment


def unregister(name: str) -> None:
    _registered.pop(name, None)


def _load_builtin(name: str) -> Experiment:
    """Import ``stablelearn.experiments.<name>``; a module that fails to import becomes an
    experiment that reports the import error when run, so the others still run."""
    try:
        module = importlib.import_module(f"stablelearn.experiments.{name}")
        return module.EXPERIMENT
    except Exception:  # noqa: BLE001 - the failure is shown in the report, not hidden
        tb = traceback.format_exc()

        def failed(ctx: Context) -> Result:
            raise RuntimeError(f"experiment module stablelearn.experiments.{name} failed to import:\n{tb}")

        return Experiment(name=name, description=f"(import failed: {tb.strip().splitlines()[-1]})",
                          run=failed, quick={}, full={})


def experiments() -> dict[str, Experiment]:
    """All experiments by name: the built-in ones first, then those registered at run time."""
    out = {}
    for name in BUILTIN:
        out[name] = _registered[name] if name in _registered else _load_builtin(name)
    out.update({k: v for k, v in _registered.items() if k not in out})
    return out


def get_experiment(name: str) -> Experiment:
    if name in _registered:
        return _registered[name]
    if name in BUILTIN:
        return _load_builtin(name)
    valid = ", ".join(experiments())
    raise ValueError(f"unknown experiment {name!r}; valid: {valid}")
