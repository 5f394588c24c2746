"""A toy experiment for the runtime's tests: cells draw from the seeded global generators and
record every call in a log folder, so tests can count what was computed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch

from stablelearn.runtime import Claim, Context, Experiment, Result, Table


def draw(cell: dict) -> dict:
    """A cell: random numbers from the generators the runtime seeded from this cell."""
    if cell.get("log"):
        log = Path(cell["log"])
        log.mkdir(parents=True, exist_ok=True)
        (log / f"{cell['i']}-{os.getpid()}-{time.monotonic_ns()}").write_text("")
    if cell.get("interrupt_at") is not None and cell["i"] == cell["interrupt_at"]:
        flag = Path(cell["log"]) / "interrupted-once"
        if not flag.exists():
            flag.write_text("")
            raise KeyboardInterrupt
    if cell.get("sleep"):
        time.sleep(cell["sleep"])
    if cell.get("fail"):
        raise RuntimeError("cell failed on purpose")
    return {"i": cell["i"], "np": np.random.rand(3), "torch": torch.randn(3).numpy(),
            "own": np.random.default_rng(cell["i"]).normal(size=2)}


def run(ctx: Context) -> Result:
    cfg = ctx.config
    cells = [{"i": i, "log": cfg.get("log"), "interrupt_at": cfg.get("interrupt_at"),
              "sleep": cfg.get("sleep", 0), "fail": cfg.get("fail", False)} for i in range(cfg["n"])]
    outs = ctx.map(draw, cells, desc="toy cells")
    total = float(sum(o["np"].sum() for o in outs))
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([o["np"][0] for o in outs], "o-")
    return Result(
        claims=[Claim("the mean of uniforms is near 1/2", "|mean - 0.5| < 0.5",
                      f"mean {total / (3 * len(outs)):.3f}", abs(total / (3 * len(outs)) - 0.5) < 0.5),
                Claim("a claim that does not hold is shown", "False", "nothing", False)],
        tables=[Table("draws", ["i", "first"], [[o["i"], o["np"][0]] for o in outs])],
        figures={"draws": fig}, notes="toy notes", data={"total": total})


def make(name: str = "toy", **quick) -> Experiment:
    cfg = {"n": 4, **quick}
    return Experiment(name=name, description="a toy experiment for tests", run=run,
                      quick=cfg, full={**cfg, "n": 8}, expected_time={"quick": "1 s", "full": "2 s"})


def calls(log: Path) -> list[int]:
    """The cell indices computed so far, one entry per call."""
    return sorted(int(p.name.split("-")[0]) for p in Path(log).iterdir() if p.name[0].isdigit())
