"""The plain-Python quantile the planners decide with agrees with numpy's default percentile."""
from __future__ import annotations

import numpy as np
import pytest

from parapolicy.planners.stats import quantile


@pytest.mark.parametrize("n", [1, 2, 3, 7, 20])
def test_quantile_matches_numpy_linear_percentile(n: int) -> None:
    rng = np.random.default_rng(n)
    values = list(rng.exponential(size=n))  # unsorted, skewed, like latencies
    for q in (0.0, 0.1, 0.5, 0.9, 0.99, 1.0):
        assert quantile(values, q) == pytest.approx(float(np.percentile(values, 100 * q)), rel=1e-12)
    assert quantile([3.0, 1.0, 2.0, 4.0], 0.5) == 2.5  # the median of an even count averages the middle two


@pytest.mark.parametrize("values,q,message", [([], 0.5, "empty"), ([1.0], 1.5, "q must be in"),
                                               ([1.0], -0.1, "q must be in")])
def test_quantile_bad_input(values: list[float], q: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        quantile(values, q)
