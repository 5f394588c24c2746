"""Shared helpers of the stability tests."""


def _mse(out, y):
    return 0.5 * ((out - y) ** 2).sum(dim=1).mean()
