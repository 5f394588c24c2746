"""Runs whose floating-point results are the same on every x86-64 CPU with AVX2 and FMA, for the tests that
compare a run bit for bit with one recorded from older code.

NumPy, OpenBLAS, MKL, oneDNN and PyTorch's own kernels each pick their code by the CPU they find (AVX-512 where
there is one, and blockings and thread splits that follow the cores), and different kernels round differently:
the same program gives results that differ in the last bit between two machines, and an iterative method turns
one bit into a different trajectory within a few dozen steps. :func:`run` therefore calls a function in a fresh
interpreter with every library held to its x86-64-v3 (AVX2 + FMA) kernels and one thread (:data:`PINNED_ENV`),
which every such CPU executes alike; a recording made the same way on any of them is comparable bit for bit.

Record (from the code the recording stands for, e.g. a worktree of an older commit)::

    PYTHONPATH=<worktree>/src python tests/pinned.py <test file> <function> <file.npz>
"""
from __future__ import annotations

import os
import platform as _platform
import runpy
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

#: Every library's kernels held to x86-64-v3, one thread each.
PINNED_ENV = {
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",  # NumPy's SIMD dispatch: at most X86_V3
    "OPENBLAS_CORETYPE": "Haswell",  # OpenBLAS (NumPy's and SciPy's copies): its AVX2 kernels
    "MKL_CBWR": "AVX2,STRICT", "MKL_ENABLE_INSTRUCTIONS": "AVX2",  # PyTorch's BLAS: conditional reproducibility
    "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2",  # PyTorch's convolutions and own kernels
    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
}
PLATFORM_KEY = "__platform__"


def unsupported() -> str | None:
    """Why this machine cannot run the pinned kernels (None where it can)."""
    if _platform.machine() not in ("x86_64", "AMD64"):
        return f"the pinned kernels are x86-64-v3; this machine is {_platform.machine()}"
    from numpy._core._multiarray_umath import __cpu_features__ as features

    if not (features.get("AVX2") and features.get("FMA3")):
        return "the pinned kernels need AVX2 and FMA, which this CPU lacks"
    return None


def platform() -> str:
    """The kernels and the library versions a pinned recording depends on."""
    import scipy
    import sklearn
    import torch

    return f"x86-64-v3 numpy {np.__version__} scipy {scipy.__version__} scikit-learn {sklearn.__version__} " \
           f"torch {torch.__version__}"


def run(path: str | Path, function: str, timeout: float = 300.0) -> dict[str, np.ndarray]:
    """``function()`` of the module at ``path`` (a dict of arrays), computed in a fresh interpreter under
    :data:`PINNED_ENV`; skipped (with the reason) where the CPU cannot run the pinned kernels."""
    import pytest

    reason = unsupported()
    if reason:
        pytest.skip(reason)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.npz"
        proc = subprocess.run([sys.executable, __file__, str(path), function, str(out)], capture_output=True,
                              text=True, timeout=timeout, env={**os.environ, **PINNED_ENV})
        if proc.returncode:
            raise RuntimeError(f"pinned run of {function} failed:\n{proc.stderr[-4000:]}")
        with np.load(out) as f:
            return {k: f[k] for k in f.files if k != PLATFORM_KEY}


def compare(recorded: Path, path: str | Path, function: str, timeout: float = 300.0,
            rtol: dict[str, float] | None = None) -> None:
    """Assert that the pinned run of ``function`` equals the recording bit for bit, key by key (keys ending in a
    suffix of ``rtol``: to that relative tolerance); skip (with the reason) where the CPU cannot run the pinned
    kernels or the recording was made with other library versions."""
    import pytest

    with np.load(recorded) as f:
        rec = {k: f[k] for k in f.files}
    made, here = str(rec.pop(PLATFORM_KEY)), platform()
    if made != here:
        pytest.skip(f"recorded with {made}, running with {here}")
    got = run(path, function, timeout)
    assert sorted(got) == sorted(rec)
    for k, v in got.items():
        tol = [t for suffix, t in (rtol or {}).items() if k.endswith(suffix)]
        if tol:
            np.testing.assert_allclose(v, rec[k], rtol=tol[0], atol=0.0, err_msg=k)
        else:
            np.testing.assert_array_equal(v, rec[k], err_msg=k)


if __name__ == "__main__":
    if any(os.environ.get(k) != v for k, v in PINNED_ENV.items()):  # a recording: pin, then start again
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]], {**os.environ, **PINNED_ENV})
    module_path, fn, dest = sys.argv[1:]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test modules import ``tests.*``
    np.savez_compressed(dest, **{PLATFORM_KEY: np.array(platform())},
                        **runpy.run_path(module_path, run_name="pinned")[fn]())
