"""Which trained-household counts the open data hides, so that no small group of households can
be singled out.

The rule (issue 9): a unit with fewer than five trained households is published as "<5". That
alone is not enough, because the province total is published too: if one commune is hidden,
the total minus every other commune gives its exact count; two hidden communes at 4 and 4 are
given away by their sum of 8. So while some hidden figure could still be worked out exactly,
the smallest published commune is hidden as well, as ">=5" (a true statement about it, and a
different mark, so nobody reads it as a small count).

"Worked out exactly" is judged against a well-informed reader: one who knows, for each hidden
commune, whether its count is zero (a commune without sessions has none) and that a ">=5"
figure is at least five. A hidden count of zero gives nobody away, so it needs no cover.
"""

from collections.abc import Mapping

FEWER_THAN_FIVE = "<5"
FIVE_OR_MORE = ">=5"
SMALLEST_PUBLISHED = 5


def hidden_counts(counts: Mapping[str, int]) -> dict[str, str]:
    """{unit: "<5" or ">=5"} for every unit whose count is not published."""
    hidden = {unit: FEWER_THAN_FIVE for unit, count in counts.items() if count < SMALLEST_PUBLISHED}
    # Least information lost first: the smallest published figure, ties by unit code.
    cover = sorted((count, unit) for unit, count in counts.items() if unit not in hidden)
    while cover and any(_is_recoverable(unit, counts, hidden) for unit in hidden):
        _count, unit = cover.pop(0)
        hidden[unit] = FIVE_OR_MORE
    return hidden


def _is_recoverable(unit: str, counts: Mapping[str, int], hidden: Mapping[str, str]) -> bool:
    """Whether the sum of the hidden counts (the total minus the published ones) leaves this
    unit's count only one possible value."""
    if counts[unit] == 0:
        return False
    bounds = {other: _bounds(counts[other], mark) for other, mark in hidden.items()}
    hidden_sum = sum(counts[other] for other in hidden)
    low, high = bounds.pop(unit)
    others_low = sum(bound[0] for bound in bounds.values())
    others_high = None if any(bound[1] is None for bound in bounds.values()) else sum(b[1] for b in bounds.values())
    least = low if others_high is None else max(low, hidden_sum - others_high)
    most = hidden_sum - others_low if high is None else min(high, hidden_sum - others_low)
    return least == most


def _bounds(count: int, mark: str) -> tuple[int, int | None]:
    """What the well-informed reader knows of a hidden count: (lowest, highest or None)."""
    if mark == FIVE_OR_MORE:
        return (SMALLEST_PUBLISHED, None)
    return (0, 0) if count == 0 else (1, SMALLEST_PUBLISHED - 1)
