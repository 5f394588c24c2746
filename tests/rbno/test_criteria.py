"""The reproduction's criteria on synthetic numbers: C2's effectivity band and C3c's sample-size rule."""

import numpy as np

from stablelearn.experiments.rbno import AUTHORS, RHO_BAND, authors_ratio, band_claim, sample_size_claim


def test_band_that_holds_and_one_that_does_not():
    rng = np.random.default_rng(0)
    inside = rng.uniform(0.6, 1.5, 500)
    c = band_claim("toy", inside, spearman={"vs ref": 0.3}, authors=AUTHORS["heat"])
    assert c.holds is True and "Spearman" in c.measured and "0.53" in c.measured
    wide = np.concatenate([inside, np.full(60, 2.6)])  # more than 5 % above the band
    assert band_claim("toy", wide, spearman={"vs ref": 0.9}).holds is False
    low = np.concatenate([inside, np.full(60, 0.2)])
    assert band_claim("toy", low, spearman={"vs ref": 0.9}).holds is False
    assert RHO_BAND == (0.4, 2.0)


def test_authors_ratios_are_the_reviewed_numbers():
    assert round(authors_ratio("heat", 4096), 1) == 15.3
    assert round(authors_ratio("darcy", 4096), 2) == 2.14
    assert round(authors_ratio("elasticity", 4096), 2) == 1.23
    assert authors_ratio("heat", 1000) is None


def test_sample_size_rule():
    n = [16, 64, 256, 1024, 4096]
    good = [0.2, 0.08, 0.04, 0.03, 0.028]  # falls, levels off, 1.4x the floor
    assert sample_size_claim("toy", n, good, 0.02, 2.1).holds is True
    assert sample_size_claim("toy", n, good, 0.02, 1.23).holds is False  # ratio above the authors'
    assert sample_size_claim("toy", n, good, 0.02, None).holds is False  # nothing to compare with
    rising = [0.2, 0.08, 0.04, 0.03, 0.25]
    assert sample_size_claim("toy", n, rising, 0.02, 20.0).holds is False
    still_falling = [0.2, 0.19, 0.18, 0.12, 0.03]  # no levelling off: the last step gains the most
    assert sample_size_claim("toy", n, still_falling, 0.02, 20.0).holds is False
    assert sample_size_claim("toy", n, [0.2, np.nan, 0.04, 0.03, 0.028], 0.02, 20.0).holds is False
