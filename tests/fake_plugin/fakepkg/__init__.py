"""A third-party weighting scheme, registered through an entry point (a test fixture).

``fakepkg/inverse``: w_t proportional to 1 / (t + 1) for the t-th task in column order
(no population needed), so 3 tasks get 6/11, 3/11, 2/11.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.scoring.weighting import SchemeContext, WeightingScheme

__all__ = ["inverse"]


def _inverse(ctx: SchemeContext) -> npt.NDArray[np.float64]:
    return 1.0 / np.arange(1.0, len(ctx.tasks) + 1.0)


inverse = WeightingScheme(
    name="inverse",  # registered as "fakepkg/inverse": the distribution name is the prefix
    function=_inverse,
    needs_population=False,
    description="w_t proportional to 1/(t+1) in column order (test fixture)",
)
