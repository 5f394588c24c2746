"""Every public entry point of depth that takes a seed or runs torch code leaves the global RNGs and
torch's thread count as they were (house convention 8)."""
import numpy as np
import torch

from stablelearn import depth
from stablelearn.depth import (DepthMuP, ResidualMLP, ResNet, coord_check, decoupled, feature_updates, knockouts,
                               lr_sweep, param_groups, parametrize, snapshot, stream, teacher_task, train,
                               train_batched)


def test_no_entry_point_touches_global_state(unchanged_global_state, tmp_path):
    with unchanged_global_state():
        task = teacher_task(64, 4, 8, seed=np.random.default_rng(1))
        depth.digits_task(100, seed=2)
        depth.make_task("teacher", seed=3)
        model = ResidualMLP(4, 8, 2, 1, block_layers=2, seed=None)
        ResNet(1, 4, 2, 3, seed=torch.Generator().manual_seed(0))
        parametrize(model, DepthMuP(), seed=np.random.default_rng(0))
        param_groups(model, 0.01, "adam")
        init = snapshot(model)
        dec = decoupled(model, seed=None)
        train(model, task, lr=0.01, steps=2, batch_size=8, seed=None)
        train(dec, task, lr=0.01, steps=2, batch_size=8, seed=torch.Generator().manual_seed(1))
        train_batched([model, model], task, lrs=[0.01, 0.02], seeds=[0, 1], steps=2, batch_size=8)
        feature_updates(model, init, task.X[:8])
        knockouts(model, init, task.X[:8])
        stream(model, task.X[:8])
        coord_check({(8, 2): lambda: ResidualMLP(4, 8, 2, 1, seed=0)}, task, lr=0.1, steps=1, seed=None,
                    progress=False)
        kw = dict(widths=[8], seeds=[0], steps=1, batch_size=8, progress=False)
        res = lr_sweep("teacher", {"d": DepthMuP()}, [1, 2], [-6.0, -5.0, -4.0], cache_dir=tmp_path, **kw)
        lr_sweep("teacher", {"d": DepthMuP()}, [1, 2], [-6.0, -5.0, -4.0], batched=False, **kw)
        res.drift("d", seed=None)
