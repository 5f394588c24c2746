"""The experiments registry: experiments are discovered, never listed here.

Three sources, in this order (the order of ``stablelearn list``, of a default ``reproduce`` and of the
report):

1. every module and subpackage of the :mod:`stablelearn.experiments` package whose name does not start
   with an underscore, sorted by name; each exposes ``EXPERIMENT``, an :class:`Experiment` whose
   ``name`` is the module's name;
2. the entry points of the group ``"stablelearn.experiments"`` of installed distributions, sorted by
   name (a plug-in: ``[project.entry-points."stablelearn.experiments"] mine = "mypkg.mymod:EXPERIMENT"``,
   or a module that exposes ``EXPERIMENT``); a name already taken by step 1 is ignored;
3. experiments added at run time with :func:`register`, which also replace a discovered one of the same
   name in place.

Discovery does not import anything; an experiment's module is imported when the experiment is asked
for. A module that fails to import becomes an experiment that raises the import error when it runs, so
``stablelearn list`` and the other experiments still work.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import traceback
from types import ModuleType
from typing import Any, Callable

from stablelearn.runtime.experiment import Context, Experiment, Result

__all__ = ["register", "unregister", "experiments", "get_experiment", "PACKAGE", "ENTRY_POINT_GROUP"]

#: The package scanned for built-in experiments.
PACKAGE = "stablelearn.experiments"
#: The entry-point group read for experiments of other distributions.
ENTRY_POINT_GROUP = "stablelearn.experiments"

_registered: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Add an experiment at run time, replacing any experiment of the same name.

    Parameters
    ----------
    experiment : Experiment
        The experiment to add.

    Returns
    -------
    Experiment
        ``experiment`` itself, so that ``EXPERIMENT = register(Experiment(...))`` works.

    Raises
    ------
    TypeError
        If ``experiment`` is not an :class:`Experiment`.
    """
    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment must be an Experiment, got {type(experiment).__name__}")
    _registered[experiment.name] = experiment
    return experiment


def unregister(name: str) -> None:
    """Remove an experiment added with :func:`register` (discovered ones come back on the next lookup).

    Parameters
    ----------
    name : str
        The experiment's name; an unknown name is ignored.
    """
    _registered.pop(name, None)


def _discovered() -> dict[str, Callable[[], Any]]:
    """Name -> loader of every discovered experiment, in the documented order; nothing is imported."""
    package = importlib.import_module(PACKAGE)
    found: dict[str, Callable[[], Any]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            found[info.name] = lambda module=f"{PACKAGE}.{info.name}": importlib.import_module(module)
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        found.setdefault(ep.name, ep.load)
    return found


def _load(name: str, loader: Callable[[], Any]) -> Experiment:
    """Run ``loader`` and return its experiment; any failure becomes an experiment that reports it."""
    try:
        obj = loader()
        experiment = obj.EXPERIMENT if isinstance(obj, ModuleType) else obj
        if not isinstance(experiment, Experiment):
            raise TypeError(f"expected an Experiment (module attribute EXPERIMENT), got {type(experiment).__name__}")
        if experiment.name != name:
            raise ValueError(f"the experiment found under the name {name!r} calls itself {experiment.name!r}")
        return experiment
    except Exception:  # noqa: BLE001 - the failure is shown in the report, not hidden
        tb = traceback.format_exc()

        def failed(ctx: Context) -> Result:
            raise RuntimeError(f"experiment {name!r} could not be loaded:\n{tb}")

        return Experiment(name=name, description=f"(failed to load: {tb.strip().splitlines()[-1]})",
                          run=failed, quick={}, full={})


def experiments() -> dict[str, Experiment]:
    """All experiments by name, in the order described in the module docstring.

    Returns
    -------
    dict of str to Experiment
        Discovered experiments first (registered ones replace them in place), then the other registered
        ones in the order of registration. An experiment that failed to load is present and fails when run.
    """
    out = {name: _registered.get(name) or _load(name, loader) for name, loader in _discovered().items()}
    out.update({k: v for k, v in _registered.items() if k not in out})
    return out


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``; only its own module is imported.

    Parameters
    ----------
    name : str
        An experiment name (see :func:`experiments`).

    Returns
    -------
    Experiment

    Raises
    ------
    ValueError
        If no experiment has that name (the message lists the valid names).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r} ({type(name).__name__})")
    if name in _registered:
        return _registered[name]
    found = _discovered()
    if name in found:
        return _load(name, found[name])
    raise ValueError(f"unknown experiment {name!r}; valid: {', '.join(experiments())}")
