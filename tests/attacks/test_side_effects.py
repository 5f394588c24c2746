"""No global side effects: every public entry point of stablelearn.attacks (and the reproduction's cells)
that takes a seed or runs torch code leaves torch's RNG, NumPy's global RNG and torch's thread count as
they were."""

import numpy as np
import pytest
import torch

from stablelearn._conventions import limit_threads, torch_seeded
from stablelearn.attacks import (ARSOPT, OPT, PARSOPT, ARSOPTSubspace, HardLabelOracle, HopSkipJump, PriorOPT,
                                 PriorSignOPT, SignOPT)
from stablelearn.experiments import attacks as experiment

with torch_seeded(0):
    VICTIM = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)).double()
X = np.random.default_rng(0).uniform(0, 1, (2, 1, 8, 8))
Y = HardLabelOracle(VICTIM, budget=1).predict(X)


@pytest.mark.parametrize("make", [
    lambda: OPT(q=5), lambda: SignOPT(q=10), lambda: HopSkipJump(), lambda: ARSOPT(q=10),
    lambda: PARSOPT([VICTIM], q=10), lambda: PriorOPT([VICTIM], q=10), lambda: PriorSignOPT([VICTIM], q=10),
    lambda: ARSOPTSubspace(q=10, subspace=(4, 4)),
])
@pytest.mark.parametrize("seed", [0, np.random.default_rng(3)])
def test_attacks_leave_global_state_alone(unchanged_global_state, make, seed):
    with limit_threads(2), unchanged_global_state():  # 2 threads, so a reset to 1 would show
        make()(HardLabelOracle(VICTIM, budget=100), X, Y, seed=seed, progress=False)


def test_oracle_and_peer_module_leave_global_state_alone(unchanged_global_state):
    with unchanged_global_state():
        o = HardLabelOracle(VICTIM, budget=20)
        o.predict(X)
        o.start(X, Y)
        o.query({0: X[0].reshape(1, -1)})
        o.as_module(1, 10)(torch.tensor(X[1:]))
        o.distances_at([5, 10])


def test_reproduction_cells_leave_global_state_alone(unchanged_global_state, tmp_path):
    with limit_threads(2), unchanged_global_state():
        out = experiment.train_model({"arch": "s1_mlp", "rgb": False, "epochs": 1, "seed": 0})
        assert out["test_acc"] > 0.3
        with torch_seeded(1):  # an untrained second surrogate is enough here
            s2 = experiment.ARCHS["s2_cnn8"](1).state_dict()
        path = tmp_path / "models.pt"
        torch.save({"s1_mlp": out["state"], "s2_cnn8": s2}, path)
        models = {"path": str(path), "archs": ["s1_mlp", "s2_cnn8"], "rgb": False, "epochs": 1, "seed": 0}
        cell = {"models": models, "rgb": False, "victim": "s1_mlp", "q": 20, "line_search": "reference",
                "run_seed": 0, "n_images": 2, "start": 0, "chunk": 2, "method": "PARS-OPT S1", "targeted": False,
                "clip": False, "budget": 300, "seed": 0, "g_max": 0.1}
        res = experiment.attack_cell(cell)
        assert res["dist"].shape == (2, 1) and np.all(res["queries"] <= 300)
