"""Batches of texts of similar length, for encoders that pad a batch to its longest text.

Triage reads a long message whole and sentence by sentence in one call. Padded to the
whole message, five 15-token sentences cost as much as five copies of the 90-token
message: on the 2-core machine the mpnet pass over a 64-word message and its sentences
took about 420 ms, most of it spent on padding.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_BATCH = 64
SLACK_CHARS = 40
"""Short texts differ little in cost; grouping them by ratio alone would split every batch."""


def length_groups(texts: Sequence[str], ratio: float = 1.5,
                  max_batch: int = MAX_BATCH) -> list[list[int]]:
    """Indices of `texts`, shortest first, cut into groups whose longest text is at most
    `ratio` times (plus a little) their shortest."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    groups: list[list[int]] = []
    for i in order:
        if (groups and len(groups[-1]) < max_batch
                and len(texts[i]) <= ratio * len(texts[groups[-1][0]]) + SLACK_CHARS):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups
