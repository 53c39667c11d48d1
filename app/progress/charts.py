"""Server-rendered SVG bar charts: no chart library and no JavaScript needed.

The geometry is computed here; the template draws it and writes the same figures as a table
for screen readers and for anyone who prefers numbers.
"""

from dataclasses import dataclass

WIDTH = 340
HEIGHT = 170
AXIS = 22  # room for the labels under the bars
TOP = 16  # room for the value over the tallest bar


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass
class BarChart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    largest: int


def bar_chart(points: list[tuple[str, int]], width: int = WIDTH, height: int = HEIGHT) -> BarChart:
    """Bars for (label, value) pairs, scaled to the largest value."""
    largest = max((value for _, value in points), default=0)
    slot = width / max(len(points), 1)
    usable = height - AXIS - TOP
    bars = []
    for index, (label, value) in enumerate(points):
        bar_height = usable * value / largest if largest else 0
        bars.append(
            Bar(
                x=round(index * slot + slot * 0.15, 1),
                y=round(TOP + usable - bar_height, 1),
                width=round(slot * 0.7, 1),
                height=round(bar_height, 1),
                label=label,
                value=value,
            )
        )
    return BarChart(width=width, height=height, baseline=height - AXIS, bars=bars, largest=largest)
