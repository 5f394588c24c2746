"""The audit guard on the benchmark MLP: what ``audit_every`` finds and what it costs.

Run: python benchmarks/stability_audit.py [--every 100] [--audit-every 5] [--model mlp]
The training of benchmarks/stability_monitor.py with ``StabilityMonitor(audit_every=...)``; at every check the
exact top eigenvalue (cold Lanczos to 1e-6) beside the tracked value and, on audited checks, the audit's value.
Writes benchmarks/results/stability_audit.json.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _common import print_table, write_results
from stability_monitor import LR, MOMENTUM, _data, _model, sgd_step
from torch import nn

from stablelearn._conventions import limit_threads
from stablelearn.stability import StabilityMonitor, hessian_eigenvalues


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--audit-every", type=int, default=5)
    parser.add_argument("--model", default="mlp")
    args = parser.parse_args()
    X, y = _data()
    loss_fn = nn.functional.cross_entropy
    rows, errors = [], []
    with limit_threads(1):
        model = _model(args.model)
        opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
        mon = StabilityMonitor(model, loss_fn, (X[:512], y[:512]), every=args.every, alerts="off",
                               metrics=("sharpness", "probe_loss"), audit_every=args.audit_every)
        gen = torch.Generator().manual_seed(0)
        for step in range(2000):
            sgd_step(model, opt, X, y, gen)
            row = mon.on_step(step, opt)
            if row is not None and row.get("check"):
                top = hessian_eigenvalues(model, loss_fn, (X[:512], y[:512]), k=1, tol=1e-6, iters=300).value
                errors.append(abs(row["sharpness"] - top) / top)
                if "audit_sharpness" in row:
                    rows.append([step, row["sharpness"], row["audit_sharpness"], top, row["hvps"]])
        hvps = mon.history.checks().column("hvps")
    table = print_table(
        f"Audits every {args.audit_every} checks ({args.model}, every={args.every}): max error "
        f"{100 * max(errors):.2f} %, {np.mean(hvps[1:]):.2f} HVPs per later check",
        ["step", "reported", "audit", "exact", "HVPs of the check"], rows)
    write_results("stability_audit", {"table": table, "errors": errors, "hvps": hvps})


if __name__ == "__main__":
    main()
