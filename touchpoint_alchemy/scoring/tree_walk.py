"""The churn drivers' tree walk, compiled with numba: the raw scores of a forest's boosters for
every row, and for the row with each candidate feature at its median, in one walk per tree.

Imported by :class:`touchpoint_alchemy.scoring.churn_drivers.Forest` only, inside its methods:
numba is a heavy import, and the first call in a checkout compiles (about 2 s; the machine code
is cached next to this file, ``cache=True``, for the processes after it).

A row with feature j at its median takes the row's own path through a tree down to the first
node that splits on j and sends the median the other way; from there it walks on with j at the
median. So each tree is walked once per row, plus one short walk per candidate feature whose
split goes the other way on the row's path. Each score is the booster's baseline plus the leaf
values of its trees added in tree order, as scikit-learn's ``decision_function`` adds them, so
the floats are the same.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

#: rows walked together through one tree (its nodes stay in the cache meanwhile)
BLOCK = 64


@njit(cache=True)
def _go_left(value: float, threshold: float, missing_left: bool) -> bool:
    """The branch scikit-learn's predictor takes: a missing value goes its own way, otherwise
    ``value <= threshold`` goes left."""
    if np.isnan(value):
        return missing_left
    return value <= threshold


@njit(parallel=True, cache=True)
def _replaced_raw_scores(  # noqa: PLR0913 (the forest's node arrays, one argument each)
    x: np.ndarray,
    candidates: np.ndarray,
    medians: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    missing_left: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    is_leaf: np.ndarray,
    value: np.ndarray,
    roots: np.ndarray,
    tree_booster: np.ndarray,
    baselines: np.ndarray,
) -> np.ndarray:
    n = x.shape[0]
    boosters = baselines.shape[0]
    width = candidates.shape[0]
    out = np.empty((boosters, width + 1, n))
    candidate_of = np.full(x.shape[1], -1, np.int64)
    for c in range(width):
        candidate_of[candidates[c]] = c
    for block in prange((n + BLOCK - 1) // BLOCK):
        lo = block * BLOCK
        rows = min(n, lo + BLOCK) - lo
        moved_leaf = np.empty(width)
        moved = np.zeros(width, np.bool_)
        total = np.empty((rows, boosters, width + 1))
        for i in range(rows):
            for b in range(boosters):
                for c in range(width + 1):
                    total[i, b, c] = baselines[b]
        for t in range(roots.shape[0]):
            b = tree_booster[t]
            for i in range(rows):
                r = lo + i
                moved[:] = False
                node = roots[t]
                while not is_leaf[node]:
                    f = feature[node]
                    go_left = _go_left(x[r, f], threshold[node], missing_left[node])
                    c = candidate_of[f]
                    if c >= 0 and not moved[c]:
                        median = medians[f]
                        median_left = _go_left(median, threshold[node], missing_left[node])
                        if median_left != go_left:
                            # the row with f at its median leaves the path here
                            moved[c] = True
                            other = left[node] if median_left else right[node]
                            while not is_leaf[other]:
                                g = feature[other]
                                v = median if g == f else x[r, g]
                                if _go_left(v, threshold[other], missing_left[other]):
                                    other = left[other]
                                else:
                                    other = right[other]
                            moved_leaf[c] = value[other]
                    node = left[node] if go_left else right[node]
                leaf = value[node]
                total[i, b, 0] += leaf
                for c in range(width):
                    total[i, b, c + 1] += moved_leaf[c] if moved[c] else leaf
        for i in range(rows):
            for b in range(boosters):
                for c in range(width + 1):
                    out[b, c, lo + i] = total[i, b, c]
    return out


def replaced_raw_scores(
    x: np.ndarray,
    candidates: np.ndarray,
    medians: np.ndarray,
    forest: tuple[np.ndarray, ...],
    threads: int = 1,
) -> np.ndarray:
    """boosters x (1 + candidates) x rows: ``[b, 0]`` booster b's raw scores of the rows of x,
    ``[b, 1 + c]`` those of the rows with feature ``candidates[c]`` at its median. ``forest``:
    the node arrays (feature, threshold, missing_go_to_left, left, right, is_leaf, value; the
    children as indices into them), each tree's root, each tree's booster (trees in the order
    they are added) and the boosters' baselines. Computed on ``threads`` threads; the scores do
    not depend on their number."""
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    return _replaced_raw_scores(
        np.ascontiguousarray(x, dtype=np.float64),
        np.asarray(candidates, dtype=np.int64),
        np.asarray(medians, dtype=np.float64),
        *forest,
    )
