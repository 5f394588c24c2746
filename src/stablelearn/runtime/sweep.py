"""Resumable sweeps: each finished cell is written as soon as it finishes, keyed by a hash of
(function, cell); a re-run with the same cache folder computes only the missing cells.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Callable, Sequence

from stablelearn._conventions import check_bool, progress_disabled
from stablelearn.runtime.executors import Executor, LocalExecutor
from stablelearn.runtime.seeding import config_hash

__all__ = ["sweep", "cell_key"]


def cell_key(fn: Callable[..., Any], cell: Any, salt: str = "") -> str:
    """The cache key of ``fn(cell)``: a hash of the function's qualified name, the cell and ``salt``.

    The key does not see the function's code: after changing what a cell computes, change ``salt``
    (an experiment's ``version``) or run with ``fresh=True``.

    Parameters
    ----------
    fn : callable
        The cell function.
    cell : JSON-serialisable
        Its argument.
    salt : str, default ""
        Folded into the key.

    Returns
    -------
    str
        20 hexadecimal digits.

    Raises
    ------
    TypeError
        If ``cell`` is not JSON-serialisable or ``salt`` is not a string.
    """
    if not isinstance(salt, str):
        raise TypeError(f"salt must be a string, got {salt!r} ({type(salt).__name__})")
    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
    key = {"fn": name, "cell": cell, **({"salt": salt} if salt else {})}
    return config_hash(key)[:20]


def _write_atomic(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def sweep(fn: Callable[[dict], Any], cells: Sequence[dict], *, executor: Executor | None = None,
          cache_dir: str | os.PathLike | None = None, fresh: bool = False, desc: str | None = None,
          progress: bool | None = None, salt: str = "") -> list:
    """``[fn(cell) for cell in cells]`` through ``executor``, resumable through ``cache_dir``.

    Parameters
    ----------
    fn : callable
        A module-level function of one JSON-serialisable dict (picklable, for process pools and Ray).
    cells : sequence of dict
        The configurations; each cell is seeded from its own content (see :func:`call_seeded`).
    executor : Executor, optional
        Defaults to an in-process :class:`LocalExecutor`.
    cache_dir : path, optional
        Where finished cells are kept (``<key>.pkl``); ``None`` keeps nothing.
    fresh : bool, default False
        Ignore (and overwrite) finished cells.
    desc : str, optional
        The progress bar's label.
    progress : bool or None, default None
        The house progress rule (:func:`stablelearn._conventions.progress_disabled`).
    salt : str, default ""
        Folded into every cell's key (see :func:`cell_key`).

    Returns
    -------
    list
        The results in the order of ``cells``.

    Raises
    ------
    TypeError
        If ``fn`` is not callable, a cell is not JSON-serialisable, or ``executor`` is not an Executor.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {fn!r} ({type(fn).__name__})")
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(f"executor must be an Executor (see get_executor), got {executor!r}")
    if isinstance(cells, (str, bytes, dict)):
        raise TypeError(f"cells must be a sequence of cells, got {type(cells).__name__}")
    fresh = check_bool(fresh, "fresh")
    disable = progress_disabled(progress)
    cells = list(cells)
    executor = executor or LocalExecutor()
    keys = [cell_key(fn, c, salt) for c in cells]  # also validates that cells are JSON-serialisable
    out: list[Any] = [None] * len(cells)
    todo = list(range(len(cells)))
    if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
        raise TypeError(f"cache_dir must be a path, got {cache_dir!r} ({type(cache_dir).__name__})")
    folder = Path(cache_dir) if cache_dir is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        if not fresh:
            todo = []
            for i, key in enumerate(keys):
                path = folder / f"{key}.pkl"
                try:
                    with open(path, "rb") as fh:
                        out[i] = pickle.load(fh)
                except (FileNotFoundError, EOFError, pickle.UnpicklingError):
                    todo.append(i)
    if not todo:
        return out
    from tqdm.auto import tqdm

    with tqdm(total=len(cells), initial=len(cells) - len(todo), desc=desc, leave=False,
              disable=disable) as bar:
        for j, value in executor.imap(fn, [cells[i] for i in todo]):
            i = todo[j]
            out[i] = value
            if folder is not None:
                _write_atomic(folder / f"{keys[i]}.pkl", value)
            bar.update(1)
    return out
