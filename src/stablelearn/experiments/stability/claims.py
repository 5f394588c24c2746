"""Claims and tables of the stability reproduction, one builder per check, from the cells' measurements."""

from __future__ import annotations

import numpy as np

from stablelearn.runtime import Claim, Table
from stablelearn.stability import loss_energy

from .data import PROTOTYPE, rel

def claims_v1(r: dict) -> tuple[list[Claim], Table]:
    """Claims and table of V1."""
    ok_eig = rel(r["lam_max"], r["exact_max"]) <= 1e-3 and rel(r["lam_min"], r["exact_min"]) <= 1e-3
    flags = {c: (float(c) > 1) == run["diverged"] for c, run in r["runs"].items()}
    proto = PROTOTYPE["v1_div_step"]
    steps = {c: run["div_step"] for c, run in r["runs"].items() if run["diverged"]}
    close = [rel(r["lam_max"], PROTOTYPE["v1_lam_max"]) <= 0.05, rel(r["lam_min"], PROTOTYPE["v1_lam_min"]) <= 0.05]
    close += [rel(steps[str(c)], s) <= 0.05 for c, s in proto.items() if str(c) in steps]
    conv = [run["final_loss"] for run in r["runs"].values() if not run["diverged"]]
    close += [rel(v, PROTOTYPE["v1_loss"]) <= 0.05 for v in conv]
    claims = [
        Claim("V1 (Hard): the tool's sharpness and lambda_min equal the exact Hessian eigenvalues",
              "relative error <= 1e-3 against numpy.linalg.eigvalsh (Lanczos on torch.func HVPs)",
              f"lambda_max {r['lam_max']:.6g} vs {r['exact_max']:.6g}; lambda_min {r['lam_min']:.6g} vs "
              f"{r['exact_min']:.6g}; {r['hvps']} HVPs", ok_eig),
        Claim("V1 (Hard): GD on least squares diverges iff eta > 2/lambda_max (the parametric law)",
              "the predicted flag c > 1 matches ||w|| > 1e8 within the step budget, for every c",
              ", ".join(f"c={c}: {'diverged at ' + str(run['div_step']) if run['diverged'] else 'converged'}"
                        for c, run in r["runs"].items()), all(flags.values())),
        Claim("V1 (Soft): numbers of the NumPy prototype reproduced within 5 %",
              "lambda_max 4.0242, lambda_min 0.00856, converged loss 0.2411, divergence steps 996/109/29 (c=1.01/1.1/1.5)",
              f"lambda_max {r['lam_max']:.5g}, lambda_min {r['lam_min']:.4g}, losses "
              f"{', '.join(f'{v:.4g}' for v in conv)}, steps {steps}", all(close)),
    ]
    table = Table("V1: GD on least squares (diabetes)", ["c = eta/(2/lambda_max)", "eta", "outcome", "step > 1e8",
                                                        "final loss"],
                  [[float(c), run["eta"], "diverged" if run["diverged"] else "converged", run["div_step"],
                    run["final_loss"]] for c, run in r["runs"].items()])
    return claims, table


def claims_v2(r: dict) -> tuple[list[Claim], Table]:
    """Claims and table of V2."""
    runs = r["runs"]
    below = all(run["below_bound"] for run in runs.values())
    big = [run for c, run in runs.items() if float(c) > 1]
    proto = PROTOTYPE["v2_sens"]
    claims = [
        Claim("V2 (Hard): twin SGD sensitivity never exceeds the product of local bounds prod_t ||I - eta H_B(theta_t)||",
              "||delta_t||/||delta_0|| <= prod_{k<t} max|1 - eta lambda(H_Bk)| at every step, every eta",
              "; ".join(f"c={c}: max ratio to bound {run['max_ratio_to_bound']:.3g}" for c, run in runs.items()), below),
        Claim("V2 (Soft): the global bound 2/L is only sufficient: twin SGD still contracts beyond it",
              "sensitivity after the last epoch < 1 for every c > 1",
              "; ".join(f"c={c}: {run['sens_end']:.3g}" for c, run in runs.items() if float(c) > 1)
              + f" (prototype 3x: {proto['3.0@50']:.2g})", bool(big) and all(run["sens_end"] < 1 for run in big)),
        Claim("V2 (Soft): global and per-batch constants of the prototype within 5 %",
              "L = 3.330, max_B L_B = 6.55 (B = 32)",
              f"L = {r['L']:.4g}, L_B (first epoch) = {r['LB']:.4g}",
              rel(r["L"], PROTOTYPE["v2_L"]) <= 0.05 and rel(r["LB"], PROTOTYPE["v2_LB"]) <= 0.05),
    ]
    table = Table("V2: twin SGD on L2-logistic regression (breast cancer)",
                  ["c = eta/(2/L)", "eta", "sensitivity after 1 epoch", "after last epoch", "<= local bound"],
                  [[float(c), run["eta"], run["sens_1"], run["sens_end"], run["below_bound"]] for c, run in runs.items()],
                  caption=f"Prototype (other batch order): 0.5x: {proto['0.5@1']} after 1 epoch, {proto['0.5@50']} "
                          f"after 50; 3x: {proto['3.0@50']} after 50.")
    return claims, table


def claims_v3(r: dict) -> tuple[list[Claim], Table]:
    """Claims and table of V3."""
    runs = {float(k): v for k, v in r["runs"].items()}
    below = [v for f, v in runs.items() if f < 1]
    above = [v for f, v in runs.items() if f > 1]
    claims = [
        Claim("V3 (Hard): below eta_ms SGD's tangent dynamics contracts in mean square",
              "rho_ms(eta) < 1 and the sample mean and median of ||delta_T||^2 over seeds are < 1 for eta < eta_ms",
              "; ".join(f"{f}x: rho_ms {v['rho_ms']:.4f}, mean {v['mean']:.3g}, median {v['median']:.3g}"
                        for f, v in runs.items() if f < 1),
              bool(below) and all(v["rho_ms"] < 1 and v["mean"] < 1 and v["median"] < 1 for v in below)),
        Claim("V3 (Soft): mean-square and almost-sure exponents differ above eta_ms",
              "rho_ms > 1 for eta > eta_ms, yet the median path still decays at 1.05 eta_ms (prototype 4e-9) "
              "and explodes at 1.2 eta_ms (prototype 4e70)",
              "; ".join(f"{f}x: rho_ms {v['rho_ms']:.4f}, median {v['median']:.3g}" for f, v in runs.items() if f > 1),
              bool(above) and all(v["rho_ms"] > 1 for v in above)
              and runs.get(1.05, {"median": 2})["median"] < 1 and runs.get(1.2, {"median": 0})["median"] > 1),
        Claim("V3 (Soft): the mean-square threshold eta_ms of the prototype within 5 %",
              "eta_ms = 0.4550 (rho_ms = 1 by bisection over 4000 sampled batches)",
              f"eta_ms = {r['eta_ms']:.4f}, GD 2/lambda_max = {r['gd']:.4f}",
              rel(r["eta_ms"], PROTOTYPE["v3_eta_ms"]) <= 0.05),
        Claim("V3 (Soft): the worst-batch step 2/max_B lambda_max(H_B) of the prototype within 5 %",
              "0.198 over 4000 sampled batches (a sample extreme: depends on the draw)",
              f"{r['worst']:.4f}", rel(r["worst"], PROTOTYPE["v3_worst"]) <= 0.05),
    ]
    table = Table("V3: SGD mean-square law (diabetes, B = 16, i.i.d. B-subsets)",
                  ["eta / eta_ms", "eta", "rho_ms", "chi_ms", "median ‖delta_T‖^2", "mean ‖delta_T‖^2",
                   "median path exponent", "prototype median"],
                  [[f, v["eta"], v["rho_ms"], v["chi_ms"], v["median"], v["mean"], v["chi_path"],
                    PROTOTYPE["v3_median"].get(f)] for f, v in runs.items()])
    return claims, table


def claims_v4(lin: dict, non: dict, res: dict) -> tuple[list[Claim], list[Table]]:
    """Claims and table of V4."""
    lin_runs = {float(h): v for h, v in lin["runs"].items()}
    match = all(rel(v["measured"], v["exact"]) <= 1e-3 for v in lin_runs.values())
    iff = all((v["measured"] < 1) == (h < lin["max_step"]) for h, v in lin_runs.items())
    non_runs = {float(h): v for h, v in non["runs"].items()}
    inside = [v for h, v in non_runs.items() if h < non["guaranteed"]]
    contracting = [h for h, v in non_runs.items() if v["sens"] < 1]
    growing = [h for h, v in non_runs.items() if v["sens"] >= 1]
    s = np.array(list(res["s_rep"].values()))
    spread = float(s.max() / s.min() - 1)
    claims = [
        Claim("V4 (Hard): linear residual net: ||Phi(K,0)|| < 1 iff h < 2/lambda_max(A), and the tool measures it",
              "tool's ||J_x|| of the K-block net = max_i|1 - h lambda_i|^K to 1e-3, and < 1 exactly when h < 0.5",
              "; ".join(f"h={h}: {v['measured']:.3g} (exact {v['exact']:.3g})" for h, v in lin_runs.items()),
              match and iff),
        Claim("V4 (Hard): nonlinear residual net contracts for every h inside the CFL region h < 2mu/L^2 = 0.222",
              "max over 5 inputs of ||dx_K/dx_0|| < 1 for every tested h < 0.222",
              "; ".join(f"h={h}: {v['sens']:.3g}" for h, v in non_runs.items()),
              bool(inside) and all(v["sens"] < 1 for v in inside)),
        Claim("V4 (Soft): the CFL bound is conservative: the empirical threshold lies in 0.6-0.9 (prototype draw)",
              "largest contracting h and smallest growing h bracket a threshold inside [0.6, 0.9]",
              f"contracting h: {contracting}; growing h: {growing}",
              bool(contracting) and bool(growing) and 0.6 <= max(contracting) and min(growing) <= 0.9
              and max(contracting) < min(growing)),
        Claim("V4 (Soft): a trained weight-shared ResNet (h = T/K) has S_rep flat in depth K",
              "max/min of ||J_x|| over depths - 1 <= 10 %",
              f"S_rep by depth {dict((k, round(v, 4)) for k, v in res['s_rep'].items())}, spread {spread:.3%}, "
              f"train accuracy {res['accuracy']:.3f}", spread <= 0.10),
    ]
    tables = [
        Table("V4: linear residual CFL (d = 20, eig(A) in [0.1, 4], K blocks)", ["h", "tool ‖Phi(K,0)‖",
              "exact", "prototype"],
              [[h, v["measured"], v["exact"], PROTOTYPE["v4_linear"].get(h)] for h, v in lin_runs.items()]),
        Table("V4: nonlinear residual f = -2x + tanh(Wx+b)", ["h", "max ‖dx_K/dx_0‖", "tool mu (local)",
              "tool L (local)", "tool 2mu/L^2 (local)"],
              [[h, v["sens"], v["mu"], v["L"], v["cfl_local"]] for h, v in non_runs.items()],
              caption=f"Guaranteed region from mu = 1, L = 3: h < {non['guaranteed']:.3f}. Prototype (other W, b): "
                      "2.4e-50 (0.2), 1.8e-128 (0.6), 11.8 (0.9), 3.8e4 (0.99), 1.3e5 (1.01), 5.9e24 (1.1)."),
    ]
    return claims, tables


def claims_v5(r: dict) -> list[Claim]:
    """Claims and table of V5."""
    return [Claim("V5 (Hard): the Jordan block has exponent -> 0 but is not bounded (v3 of the paper)",
                  "classify_growth(||A^t||) == 'subexponential growth' (never 'bounded'), also from tangent "
                  "propagation and the sup-energy",
                  f"||A^T|| = {r['norm_T']:.4g}, chi_T = {r['chi']:.3g} (prototype {PROTOTYPE['v5_chi']}), verdicts "
                  f"{r['verdict']} / {r['tangent_verdict']} / {r['sup_verdict']}, c2 growth per doubling "
                  f"{[round(g, 3) for g in r['sup_growth']]}",
                  r["verdict"] == r["tangent_verdict"] == r["sup_verdict"] == "subexponential growth")]


def v6_summary(r: dict, burn: int) -> dict:
    """The numbers of one V6 run that the claims and the table read."""
    s, steps = r["sharpness"], r["steps"]
    late = s[steps >= burn]
    losses = r["losses"]
    track = np.abs(s - r["exact"]) / np.abs(r["exact"])
    return {"initial": float(s[0]), "final": float(s[-1]), "max": float(s.max()), "late_min": float(late.min()),
            "late_max": float(late.max()), "ratio_late": (float(late.min() * r["eta"] / 2), float(late.max() * r["eta"] / 2)),
            "loss_monotone": loss_energy(losses).certified, "loss_drop": float(losses[-1] / losses[0]),
            "track_err": float(track.max()), "hvps_later": float(np.mean(r["hvps"][1:])),
            "overhead": r["monitored_time"] / r["plain_time"] - 1, "share": r["monitor_share"]}


def claims_v6(runs: list[dict], burn: int) -> tuple[list[Claim], Table]:
    """Claims and table of V6."""
    sm = {r["eta"]: v6_summary(r, burn) for r in runs}
    eos = max(sm)
    e = sm[eos]
    claims = [
        Claim(f"V6 (Soft): at eta = {eos} GD runs at the edge of stability: sharpness hovers at 2/eta",
              "sharpness * eta / 2 in [0.9, 1.1] at every check after the burn-in",
              f"after step {burn}: sharpness in [{e['late_min']:.3g}, {e['late_max']:.3g}], 2/eta = {2 / eos:.3g}, "
              f"ratio [{e['ratio_late'][0]:.3f}, {e['ratio_late'][1]:.3f}] (prototype: 16.2-16.9 vs 16.7)",
              0.9 <= e["ratio_late"][0] and e["ratio_late"][1] <= 1.1),
        Claim(f"V6 (Soft): at the edge the loss-as-energy flag fires while training still makes progress",
              "loss_energy(losses) not certified (some step increases the loss) and final/initial loss < 0.5",
              f"descent certified: {e['loss_monotone']}, final/initial loss {e['loss_drop']:.3g}",
              (not e["loss_monotone"]) and e["loss_drop"] < 0.5),
        Claim("V6 (Soft): below the edge, sharpness stays under 2/eta for the smaller steps",
              "max sharpness < 2/eta for every eta except the largest",
              "; ".join(f"eta={k}: max {v['max']:.3g} vs 2/eta {2 / k:.3g}" for k, v in sm.items() if k != eos),
              all(v["max"] < 2 / k for k, v in sm.items() if k != eos)),
        Claim("V6 (tool): the monitor's tracked sharpness stays within 5 % of the exact top eigenvalue",
              "|tracked - exact| / exact <= 0.05 at every check of every run (exact: cold Lanczos to 1e-6 at the "
              "same weights)",
              "; ".join(f"eta={k}: max error {v['track_err']:.2%}" for k, v in sm.items()),
              all(v["track_err"] <= 0.05 for v in sm.values())),
    ]
    table = Table("V6: full-batch GD on a tanh MLP (digits, 1000 samples), curves drawn by StabilityMonitor",
                  ["eta", "2/eta", "initial sharpness", "final sharpness", "max", "descent monotone", "final/initial loss",
                   "max tracking error", "HVPs per later check", "monitor overhead (wall)", "monitor / train time"],
                  [[k, 2 / k, v["initial"], v["final"], v["max"], v["loss_monotone"], v["loss_drop"], v["track_err"],
                    v["hvps_later"], v["overhead"], v["share"]] for k, v in sm.items()],
                  caption="Prototype (other init): initial 22.2; eta=0.04: 18.4 -> 23.2; eta=0.08: 19.0 -> 24.55; "
                          "eta=0.12 hovers at 16.2-16.9. Overhead: the same run with and without the monitor in one "
                          "process (wall), and the monitor's own clock; the cores were shared with other jobs.")
    return claims, table


def claims_v7(r: dict) -> tuple[list[Claim], Table]:
    """Claims and table of V7."""
    runs = {float(c): v for c, v in r["runs"].items()}
    safe = [v for c, v in runs.items() if c <= 1]
    conv = [v for v in runs.values() if not v["diverged"]]
    lss = conv[0]["lam_SS"] if conv else float("nan")
    risky = [(c, v) for c, v in runs.items() if c > 1 and v["eta"] < 2 / lss]
    claims = [
        Claim("V7 (Hard): ISTA's prox-gradient step is nonexpansive for eta <= 2/L",
              "twin sensitivity ||delta_t||/||delta_0|| <= 1 at every step for every c <= 1",
              "; ".join(f"c={c}: max {v['max_sens']:.3g}, end {v['end_sens']:.2g}" for c, v in runs.items() if c <= 1),
              bool(safe) and all(v["max_sens"] <= 1 + 1e-9 for v in safe)),
        Claim("V7 (Soft): the restricted (Clarke-selection) threshold 2/lambda_max(H_SS) is only local",
              "some eta with 2/L < eta < 2/lambda_max(H_SS) still diverges (prototype: c = 1.5)",
              f"lambda_max(H_SS) = {lss:.4g} (prototype 2.625) on {conv[0]['nnz'] if conv else '-'} nonzeros; "
              + "; ".join(f"c={c}: eta {v['eta']:.3f}, {'diverged' if v['diverged'] else 'converged'}, max support "
                          f"{v['max_support']}" for c, v in risky),
              any(v["diverged"] for _, v in risky)),
    ]
    table = Table("V7: ISTA on the Lasso (diabetes, lambda = 0.05)",
                  ["c = eta/(2/L)", "eta", "max twin sensitivity", "final", "diverged", "nonzeros", "max support"],
                  [[c, v["eta"], v["max_sens"], v["end_sens"], v["diverged"], v["nnz"], v["max_support"]]
                   for c, v in runs.items()])
    return claims, table


def claims_v8(r: dict, horizons: list[int]) -> tuple[list[Claim], Table]:
    """Claims and table of V8."""
    expect = {"GD c=0.9": "bounded", "GD c=1.01": "exponential growth", "Jordan": "subexponential growth"}
    sgd = {k: v for k, v in r.items() if k.startswith("SGD")}
    for k in sgd:
        expect[k] = "bounded" if float(k.split()[1].rstrip("x")) < 1 else "exponential growth"
    got = {k: r[k]["gram_verdict"] for k in expect if k in r}
    sup_ok = all(r[k]["sup_verdict"] == v for k, v in expect.items() if k in r and r[k]["sup_verdict"] is not None)
    identity = max(v["identity_error"] for v in r.values())
    stable_dissipates = all(r[k]["max_ratio"] < 1 for k, v in expect.items() if v == "bounded")
    jordan = r["Jordan"]["sup_c2"]
    claims = [
        Claim("V8 (Hard): the energy's c2 is flat for stable runs and grows for unstable ones, over growing horizons",
              "Gramian and sup-energy verdicts: bounded (GD c=0.9, SGD < eta_ms), exponential growth (GD c=1.01, "
              "SGD > eta_ms), subexponential growth (Jordan)",
              "; ".join(f"{k}: {v}" for k, v in got.items()) + f"; sup-energy verdicts agree: {sup_ok}",
              got == {k: expect[k] for k in got} and sup_ok),
        Claim("V8 (Hard): the backward Gramian dissipates strictly at every step: V_{s+1}(A_s d) = V_s(d) - ||d||^2",
              "identity error <= 1e-14 relative to its rounding scale (sums of absolute terms; Higham's bound for "
              "the quadratic forms of d = 11 is (2d + 2) eps = 5e-15) and per-step worst ratio "
              "1 - 1/lambda_max(P_s) < 1 on stable runs",
              f"max identity error {identity:.2g}", identity <= 1e-14 and stable_dissipates),
        Claim("V8 (Hard): Jordan sup-energy c2 grows like T^2", "c2(2T)/c2(T) within 5 % of 4 on the doubling horizons",
              f"ratios {[round(float(b / a), 3) for a, b in zip(jordan[:-1], jordan[1:]) if float(b / a) > 0]}",
              all(abs(b / a - 4) <= 0.2 for a, b in zip(jordan[1:-1], jordan[2:]))),
    ]
    table = Table("V8: energy c2 over horizons", ["run", *[f"Gramian c2, T={h}" for h in horizons], "verdict"],
                  [[k, *v["gram_c2"], v["gram_verdict"]] for k, v in r.items()])
    return claims, table


def claims_v9(r: dict) -> tuple[list[Claim], Table]:
    """Claims and table of V9."""
    per32, per64 = r["per_x32"], r["per_x64"]
    loose = r["bound"] / per64
    agree = float(np.max(np.abs(per32 - per64) / per64))
    tool_err = float(np.max(np.abs(r["tool_per_x"] - per32) / per32))
    claims = [
        Claim("V9 (Soft): the product bound holds for every sampled x, for autograd's ReLU selection",
              "prod_l ||W_l|| >= ||J_x|| (per-example SVD) for every probe x; the tool's per-example ||J_x|| "
              "match the SVDs to 1e-3",
              f"bound {r['bound']:.4g}; ||J_x|| in [{per64.min():.4g}, {per64.max():.4g}]; looseness "
              f"{loose.min():.3g}-{loose.max():.3g}; tool vs SVD max rel. error {tool_err:.2g}",
              bool(np.all(per64 <= r["bound"])) and tool_err <= 1e-3),
        Claim("V9 (Soft): fp32 and fp64 agree on the selection",
              "the same ReLU activation pattern on >= 99.9 % of units, ||J_x|| within 1e-4 relative",
              f"pattern agreement {r['pattern_agreement']:.5f}, max rel. diff of ||J_x|| {agree:.2g}, "
              f"{r['near_kink']} pre-activations within the kink tolerance",
              r["pattern_agreement"] >= 0.999 and agree <= 1e-4),
    ]
    table = Table("V9: ReLU MLP on digits: ‖J_x‖ vs product bound",
                  ["probe size", "bound", "min ‖J_x‖", "median", "max", "looseness (bound / max)", "train acc"],
                  [[len(per64), r["bound"], per64.min(), float(np.median(per64)), per64.max(), r["bound"] / per64.max(),
                    r["accuracy"]]])
    return claims, table
