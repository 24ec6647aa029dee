"""Exact bootstrap distribution of the mean of continuous values, without B x n index arrays.

:func:`pair_sum_means` draws, for each of B resamples, the mean of n items drawn with
replacement from ``values``: exactly the law of the plain item bootstrap (the mean of n iid
uniform draws), computed from a different but equivalent decomposition of the same draws.

1. The items are cut into blocks of 256 consecutive items (the last block holds the
   remainder). The numbers of draws falling into each block are Multinomial(n, block size
   / n), drawn block by block as conditional binomials (the count of block j given the
   earlier ones is Binomial(draws left, size_j / items left)) for all B resamples at once:
   O(n / 256) binomials per resample and O(B) memory.
2. Within a block, the draws are iid uniform over its items. They are taken two at a time: a
   pair of draws from a 256-item block is one uniform 16-bit number (high byte, low byte),
   and ``table[16-bit number]`` holds the precomputed pair sum ``x[a] + x[b]`` (a 65,536-entry
   float64 table, built once per block). An odd count adds one single draw, the low byte of
   one more uniform 16-bit number, read from the table's tail; the block of a remainder of
   s < 256 items draws its pair indices uniformly from [0, s*s) (numpy's exact bounded
   integers).
3. The looked-up values of one resample are summed with ``numpy.add.reduceat``.

Each step is an exact reformulation: block counts of n iid uniform draws are multinomial,
and given them the draws inside each block are iid uniform over the block, which pairs of
uniform bytes are. Only floating-point rounding of the sums differs from the item gather
(the pair sums are float64, the summation order differs).

Why this design (measured on 20 tasks x 3,000 items, B = 10,000, 2 shared cores; see
``bench/bench_continuous.py``): the index gather spends ~3-6 ns per draw on a bounded integer
(half to one 64-bit generator output per draw; PCG64 costs ~2.5-4 ns per output here),
~1.5-2 ns on the gather and ~0.3 ns on the mean. Here a draw costs 8 random bits (a quarter
of a 64-bit output per pair), half a table lookup (~1.2 ns per lookup in a 512 KiB table),
half a segment sum and ~0.3 ns for the block counts: about 2 ns per draw in all, 4-5x fewer
CPU seconds than ``scipy.stats.bootstrap`` and ~3x fewer than the gather. The block structure
is also what keeps the lookups local: one block's table is hot while all B resamples draw
from it. Alternatives measured and rejected:

- multinomial counts per item times the values with BLAS: the matmul is cheap, but
  ``Generator.multinomial`` costs ~40-90 ns per category (one binomial each): over 10x the
  gather. The same cost bounds the blocks from below: a binomial per 256 items is ~0.3 ns
  per draw.
- narrow index dtypes alone (uint16 indices into the item array): numpy converts them to
  intp inside ``take``/fancy indexing, and bounded uint16 draws still cost ~2.4 ns each.
- smaller blocks (128 items, 16,384-entry tables): lookups get ~10% cheaper but the block
  multinomial doubles; sums of 3 or 4 draws per lookup need per-block counts of 32 or 16
  items, whose multinomial (or bitwise splitting) costs more than the lookups it saves.
- float32 tables and values (256 KiB tables): no gain beyond the noise, and they would
  round the pair sums.
- Poisson(1) weights: exact only conditionally on their sum; not used.

The random numbers come only from the ``numpy.random.Generator`` passed in; results are
reproducible given its state (on a given byte order: the 16-bit lanes are views of 64-bit
outputs).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["BLOCK_BITS", "pair_sum_means"]

FloatArray = npt.NDArray[np.float64]

BLOCK_BITS = 8
"""Blocks hold ``2**BLOCK_BITS`` items (256): a pair of draws is one uniform 16-bit number."""

_OUTER_RESAMPLES = 1 << 19
"""Resamples whose block counts are held at once (three int64/float64 vectors of 4 MiB)."""

_SUB_RESAMPLES = 2048
"""Resamples per table pass (~2048 x 129 lookups: index and value buffers of ~4 MiB)."""


def _block_sizes(n: int, bits: int) -> list[int]:
    full, rem = divmod(n, 1 << bits)
    return [1 << bits] * full + ([rem] if rem else [])


def pair_sum_means(
    values: FloatArray, n_resamples: int, rng: np.random.Generator, *, block_bits: int = BLOCK_BITS
) -> FloatArray:
    """Draw ``n_resamples`` bootstrap means of ``values`` (n draws with replacement each).

    Exact in distribution: every entry has the law of the mean of n iid uniform draws from
    ``values``, and entries are independent (see the module docstring for the method).
    Besides the output, temporaries stay under ~25 MiB whatever B and n are (well inside the
    64 MiB of chunk temporaries that :func:`~lm_eval_mtl.stats._common.check_resample_memory`
    budgets).

    Args:
        values: 1-D finite float array, n >= 1.
        n_resamples: Number of resamples B >= 1.
        rng: The generator every random number is drawn from.
        block_bits: Items per block as a power of two, 1 to 8 (tests use small blocks to
            enumerate the law exactly; 8 is the fast setting).

    Returns:
        Array of shape (n_resamples,) of resampled means.

    Raises:
        ValueError: ``values`` is empty or not 1-D, ``n_resamples`` < 1, or ``block_bits``
            outside 1..8.
    """
    x = np.ascontiguousarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"`values` must be a non-empty 1-D array; got shape {x.shape}.")
    if n_resamples < 1:
        raise ValueError(f"`n_resamples` must be >= 1; got {n_resamples}.")
    if not 1 <= block_bits <= 8:
        raise ValueError(f"`block_bits` must be in 1..8; got {block_bits}.")
    n = int(x.size)
    sizes = _block_sizes(n, block_bits)
    full = 1 << block_bits
    # table layout for a block of s items: [pair sums (s*s) | singles (s) | 0.0]
    table = np.empty(max(s * s + s + 1 for s in sizes), dtype=np.float64)
    cap = min(_SUB_RESAMPLES, n_resamples) * (max(sizes) // 2 + 1) + 4096
    idx_buf = np.empty(cap, dtype=np.intp)
    val_buf = np.empty(cap, dtype=np.float64)
    out = np.empty(n_resamples, dtype=np.float64)
    for c0 in range(0, n_resamples, _OUTER_RESAMPLES):
        b = min(_OUTER_RESAMPLES, n_resamples - c0)
        acc = np.zeros(b, dtype=np.float64)
        remaining = np.full(b, n, dtype=np.int64)  # draws not yet given to a block
        items_left = n
        start = 0
        for s in sizes:
            # Multinomial(n, sizes / n) block counts as conditional binomials, one block at a time
            counts = remaining if s == items_left else rng.binomial(remaining, s / items_left)
            remaining = remaining - counts
            items_left -= s
            block = x[start : start + s]
            start += s
            ss = s * s
            np.add(block[:, None], block[None, :], out=table[:ss].reshape(s, s))
            table[ss : ss + s] = block
            table[ss + s] = 0.0
            for r0 in range(0, b, _SUB_RESAMPLES):
                m = counts[r0 : r0 + _SUB_RESAMPLES]
                # each resample: m // 2 pair slots, then one slot for the odd draw (or 0.0)
                slots = (m >> 1) + 1
                ends = np.cumsum(slots)
                p = int(ends[-1])
                if p > idx_buf.size:
                    idx_buf = np.empty(p, dtype=np.intp)
                    val_buf = np.empty(p, dtype=np.float64)
                idx = idx_buf[:p]
                last = ends - 1
                if s == full:
                    words = rng.integers(0, 2**64 - 1, size=(p + 3) // 4, dtype=np.uint64, endpoint=True)
                    lanes = words.view(np.uint16)[:p]
                    if ss == 1 << 16:
                        np.copyto(idx, lanes, casting="unsafe")
                    else:
                        np.bitwise_and(lanes, ss - 1, out=idx, casting="unsafe")
                else:
                    np.copyto(idx, rng.integers(0, ss, size=p, dtype=np.uint32), casting="unsafe")
                # the odd slot's single draw: the low "digit" of its own uniform pair index
                idx[last] = np.where(m & 1, ss + idx[last] % s, ss + s)
                vals = val_buf[:p]
                # indices are in range by construction; mode="wrap" lets take fill `out` directly
                # (mode="raise" would first copy it, to leave it untouched on an error)
                np.take(table, idx, out=vals, mode="wrap")
                acc[r0 : r0 + _SUB_RESAMPLES] += np.add.reduceat(vals, ends - slots)
        out[c0 : c0 + b] = acc / n
    return out
