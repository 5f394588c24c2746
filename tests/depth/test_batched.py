"""Batched sweeps: every member equals its one-by-one run; divergence stays per member; resume; NumPy ints."""
import numpy as np
import pytest
import torch

from stablelearn.depth import (CompleteP, DepthMuP, DepthMuPCorrected, ResidualMLP, digits_task, lr_sweep,
                               parametrize, teacher_task, train, train_batched)
from stablelearn.depth.batched import _stackable
from stablelearn.depth.sweep import HIDDEN_ROLES, train_group


def _pair_runs(opt, log2_lrs, seeds=(0, 1), steps=12, block_layers=2, scheme=DepthMuP(), roles=HIDDEN_ROLES):
    task = teacher_task(256, 6, 8)
    build = lambda s: ResidualMLP(6, 16, 3, 1, block_layers=block_layers, scheme=scheme, base_width=8, seed=s)
    pairs = [(e, s) for e in log2_lrs for s in seeds]
    one = [train(build(s), task, lr=2.0 ** e, steps=steps, optimizer=opt, batch_size=32, seed=s, roles=roles)
           for e, s in pairs]
    models = {s: build(s) for s in seeds}
    bat = train_batched([models[s] for _, s in pairs], task, lrs=[2.0 ** e for e, _ in pairs],
                        seeds=[s for _, s in pairs], steps=steps, optimizer=opt, batch_size=32, roles=roles)
    return one, bat


@pytest.mark.parametrize("opt, grid", [("adam", [-9.0, -7.0, -5.0, -3.0]), ("sgd", [-4.0, -2.0, 0.0, 2.0, 4.0])])
def test_batched_members_equal_their_one_by_one_runs(opt, grid):
    one, bat = _pair_runs(opt, grid)
    assert [r.status for r in one] == [r.status for r in bat]
    assert [r.n_iter for r in one] == [r.n_iter for r in bat]
    assert [r.diverged_at for r in one] == [r.diverged_at for r in bat]
    a, b = np.array([r.final_loss for r in one]), np.array([r.final_loss for r in bat])
    fin = np.isfinite(a)
    assert fin.sum() >= 3
    np.testing.assert_allclose(b[fin], a[fin], rtol=1e-3)
    for r, q in zip(one, bat):                                   # the whole minibatch-loss history too
        np.testing.assert_allclose(q.history["loss"], r.history["loss"], rtol=1e-3)
    if opt == "sgd":
        assert {"diverged", "non_finite"} & {r.status for r in bat}     # the grid reaches divergence


def test_all_roles_and_three_layer_blocks_batch_too():
    one, bat = _pair_runs("adam", [-8.0, -6.0, -4.0], seeds=(3,), block_layers=3,
                          scheme=DepthMuPCorrected(beta=1.0, layers="first"), roles=None)
    np.testing.assert_allclose([r.final_loss for r in bat], [r.final_loss for r in one], rtol=1e-3)


class _Wrapped(torch.nn.Module):
    """A network the stacked forward does not know: trained through the vmap path."""

    def __init__(self, seed):
        super().__init__()
        self.net = ResidualMLP(6, 16, 2, 1, block_layers=2, base_width=8, seed=seed)
        parametrize(self, DepthMuP(), base_width=8, seed=seed)

    def forward(self, x):
        return self.net(x)


@pytest.mark.parametrize("build, opt", [
    (lambda s: ResidualMLP(6, 16, 3, 1, form="post", mean_subtract=True, activation="abs", bias=True,
                           base_width=8, seed=s), "adam"),
    (lambda s: ResidualMLP(6, 16, 3, 1, activation="tanh", bias=True, scheme=CompleteP(), base_width=4, seed=s),
     "adam"),                                                    # CompleteP scales Adam's epsilon per role
    (lambda s: ResidualMLP(6, 16, 3, 1, activation="gelu", block_layers=1, base_width=8, seed=s), "sgd"),
    (_Wrapped, "adam"),
])
def test_both_forward_paths_equal_one_by_one(build, opt):
    task = teacher_task(256, 6, 8)
    assert _stackable(build(0)) == (build is not _Wrapped)
    lrs = [2.0 ** -7, 2.0 ** -5] if opt == "adam" else [2.0 ** -4, 2.0 ** -2]
    one = [train(build(s), task, lr=lr, steps=8, optimizer=opt, batch_size=32, seed=s) for lr in lrs for s in (0, 1)]
    models = {s: build(s) for s in (0, 1)}
    bat = train_batched([models[s] for _ in lrs for s in (0, 1)], task, lrs=[lr for lr in lrs for _ in (0, 1)],
                        seeds=[0, 1] * len(lrs), steps=8, optimizer=opt, batch_size=32)
    assert [r.status for r in bat] == ["completed"] * 4
    np.testing.assert_allclose([r.final_loss for r in bat], [r.final_loss for r in one], rtol=1e-4)


def test_final_evaluation_in_chunks_gives_the_same_losses(monkeypatch):
    import stablelearn.depth.batched as batched

    task = teacher_task(256, 6, 8)
    kw = dict(lrs=[1e-3, 1e-2, 3e-2], seeds=[0, 1, 0], steps=4, batch_size=32)
    whole = train_batched([ResidualMLP(6, 16, 2, 1, base_width=8, seed=0)] * 3, task, **kw)
    monkeypatch.setattr(batched, "_EVAL_ACTIVATIONS", 1)                     # one member per chunk
    chunked = train_batched([ResidualMLP(6, 16, 2, 1, base_width=8, seed=0)] * 3, task, **kw)
    np.testing.assert_allclose([r.final_loss for r in chunked], [r.final_loss for r in whole], rtol=1e-6)


def test_cross_entropy_task_batches():
    task = digits_task(200)
    build = lambda s: ResidualMLP(64, 16, 2, 10, block_layers=2, base_width=8, seed=s)
    one = [train(build(0), task, lr=lr, steps=6, batch_size=32, seed=0) for lr in (1e-3, 1e-2)]
    bat = train_batched([build(0)] * 2, task, lrs=[1e-3, 1e-2], seeds=[0, 0], steps=6, batch_size=32)
    np.testing.assert_allclose([r.final_loss for r in bat], [r.final_loss for r in one], rtol=1e-4)


def test_a_diverging_member_does_not_poison_its_batch():
    task = teacher_task(256, 6, 8)
    model = ResidualMLP(6, 16, 3, 1, block_layers=2, base_width=8, seed=0)
    alone = train_batched([model], task, lrs=[2.0 ** -6], seeds=[0], steps=15, optimizer="sgd", batch_size=32)[0]
    mixed = train_batched([model] * 3, task, lrs=[2.0 ** 12, 2.0 ** -6, 1e30], seeds=[0, 0, 0], steps=15,
                          optimizer="sgd", batch_size=32)
    assert mixed[0].status in ("diverged", "non_finite") and mixed[2].status in ("diverged", "non_finite")
    assert mixed[0].final_loss == np.inf and mixed[0].diverged_at is not None
    assert mixed[1].status == "completed" and mixed[1].diverged_at is None
    # the same numbers with or without the others (up to the round-off of a different stack size)
    assert mixed[1].final_loss == pytest.approx(alone.final_loss, rel=1e-5)
    np.testing.assert_allclose(mixed[1].history["loss"], alone.history["loss"], rtol=1e-5)


def test_batched_sweep_equals_one_by_one_sweep_and_resumes(tmp_path):
    kw = dict(widths=[16], seeds=[0, 1], steps=6, batch_size=16, block_layers=2, progress=False)
    grid = [-5.0, -8.0, -6.5, -2.0]                                    # unsorted on purpose
    one = lr_sweep("teacher", {"d": DepthMuP()}, [2, 4], grid, batched=False, **kw)
    bat = lr_sweep("teacher", {"d": DepthMuP()}, [2, 4], grid, batched=True, cache_dir=tmp_path, **kw)
    assert bat.log2_lrs == sorted(grid) == one.log2_lrs
    np.testing.assert_allclose(bat.losses, one.losses, rtol=1e-3)
    np.testing.assert_array_equal(bat.statuses, one.statuses)
    assert len(list(tmp_path.glob("*.pkl"))) == 4                      # one cell per (scheme, width, depth, seed)
    again = lr_sweep("teacher", {"d": DepthMuP()}, [2, 4], grid, batched=True, cache_dir=tmp_path, **kw)
    np.testing.assert_array_equal(again.losses, bat.losses)
    more = lr_sweep("teacher", {"d": DepthMuP()}, [2, 4, 8], grid, batched=True, cache_dir=tmp_path, **kw)
    np.testing.assert_array_equal(more.losses[:, :, :2], bat.losses)   # finished groups kept, one added
    assert len(list(tmp_path.glob("*.pkl"))) == 6


def test_numpy_integers_are_accepted_everywhere_an_int_is():
    res = lr_sweep("teacher", {"d": DepthMuP()}, np.arange(1, 3), np.array([-6.0, -5.0, -4.0]),
                   widths=np.array([8]), seeds=np.arange(2), block_layers=np.int64(2), steps=np.int32(2),
                   batch_size=np.int64(8), base_depth=np.int16(1), progress=False)
    assert res.depths == [1, 2] and res.seeds == [0, 1] and all(type(d) is int for d in res.depths)
    model = ResidualMLP(np.int64(4), np.int64(8), np.int32(2), np.int8(1), block_layers=np.int64(2),
                        base_width=np.int64(4), seed=np.int64(3))
    out = train(model, teacher_task(np.int64(64), np.int64(4), np.int64(8)), lr=np.float32(1e-3),
                steps=np.int64(2), batch_size=np.int64(8), seed=np.int64(1))
    assert out.status == "completed" and out.n_iter == 2


def test_train_group_cell_is_json_shaped():
    cell = {"task": "teacher", "scheme": DepthMuP().to_dict(), "width": 8, "depth": 2, "block_layers": 2,
            "base_width": 8, "base_depth": 1, "optimizer": "adam", "steps": 2, "batch_size": 8, "train": "hidden",
            "log2_lrs": [-6.0, -5.0, -4.0], "seeds": [0, 1]}
    out = train_group(cell)
    assert np.array(out["final_loss"]).shape == (3, 2) and np.array(out["status"]).shape == (3, 2)
    import json
    json.dumps(out)
