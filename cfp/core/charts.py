"""Charts drawn on the server as inline SVG (templates/charts.html draws them): no script,
no library, readable without colour (shapes and labels) and with a text alternative.
These functions only place things: pixel positions of bars, points, ticks and lines."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 52  # room for the ticks and the axis titles


def ticks(lo: float, hi: float, most: int = 6) -> list[float]:
    """Round values between lo and hi, at most `most` of them (1, 2 or 5 times a power of 10)."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(most - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out, value = [], first
    while value <= hi + 1e-9:
        out.append(round(value, 10))
        value += step
    return out


@dataclass
class Bar:
    label: str
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass
class Histogram:
    """Bars over labelled bins; `max` reviews at the top of the y axis."""
    bars: list[Bar]
    width: float
    height: float
    plot: tuple[float, float, float, float]  # left, top, right, bottom
    y_ticks: list[tuple[float, str]]  # (pixel y, label)
    total: int

    @property
    def pairs(self) -> list[str]:
        """"label: count" of each bar, for the text alternative."""
        return [f"{bar.label}: {bar.count}" for bar in self.bars]


def histogram(bins: list[tuple[object, int]], bar_width: float = 40, plot_height: float = 150,
              label=str) -> Histogram:
    top = max((count for _edge, count in bins), default=0)
    marks = ticks(0, max(top, 1), 6)
    step = marks[1] - marks[0] if len(marks) > 1 else 1
    scale_top = math.ceil(max(top, 1) / step - 1e-9) * step  # the tallest bar under a tick
    bars = []
    for i, (edge, count) in enumerate(bins):
        h = count / scale_top * plot_height
        bars.append(Bar(label(edge), count, LEFT + i * bar_width + 3, TOP + plot_height - h, bar_width - 6, h))
    width = LEFT + len(bins) * bar_width + RIGHT
    y_ticks = [(TOP + plot_height - v / scale_top * plot_height, f"{v:g}")
               for v in ticks(0, scale_top, 6) if v == int(v)]
    return Histogram(bars, width, TOP + plot_height + BOTTOM, (LEFT, TOP, width - RIGHT, TOP + plot_height),
                     y_ticks, sum(count for _edge, count in bins))


@dataclass
class Point:
    x: float
    y: float
    forward: bool  # passes both sides' thresholds: drawn as a disc; vetoed: a cross
    references: list[str] = field(default_factory=list)
    a: Decimal | None = None
    b: Decimal | None = None

    @property
    def named(self) -> list[str]:
        """The references its title names (the others are counted)."""
        return self.references[:NAMED]


@dataclass
class Scatter:
    points: list[Point]
    width: float
    height: float
    plot: tuple[float, float, float, float]
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    threshold: tuple[float, float] | None  # pixel x of the vertical line, pixel y of the horizontal one
    forward: int
    vetoed: int
    unscored: int


MAX_MARKS = 400  # marks of a scatter chart, whatever the number of proposals
NAMED = 5  # references a mark's title names


def scatter(pairs, lo: Decimal, hi: Decimal, threshold: Decimal | None, size: float = 320,
            number=str) -> Scatter:
    """`pairs`: (reference, side A's mean, side B's mean, goes forward). Points closer than a
    pixel or two are one mark (a call may hold thousands of proposals), named by all its
    proposals."""
    lo_f, hi_f = float(lo), float(hi)
    span = (hi_f - lo_f) or 1.0

    def px(v) -> float:
        return LEFT + (float(v) - lo_f) / span * size

    def py(v) -> float:
        return TOP + size - (float(v) - lo_f) / span * size

    scored = [(reference, a, b, bool(goes)) for reference, a, b, goes in pairs if a is not None and b is not None]
    unscored = len(pairs) - len(scored)
    forward = sum(goes for *_rest, goes in scored)
    vetoed = len(scored) - forward
    # Marks closer than a cell are one; the cell grows (from 2 px) until the chart holds at
    # most MAX_MARKS, so its size does not grow with the call (10,000 proposals drew 1.4 MB).
    cell = 2.0
    while len({(round(px(a) / cell), round(py(b) / cell), goes) for _r, a, b, goes in scored}) > MAX_MARKS:
        cell *= 2
    marks: dict[tuple, Point] = {}
    for reference, a, b, goes in scored:
        key = (round(px(a) / cell), round(py(b) / cell), goes)
        point = marks.get(key)
        if point is None:
            point = marks[key] = Point(round(px(a), 1), round(py(b), 1), goes, a=a, b=b)
        point.references.append(reference or "—")
    axis = [(v, number(v)) for v in ticks(lo_f, hi_f, 6)]
    width, height = LEFT + size + RIGHT, TOP + size + BOTTOM
    line = (round(px(threshold), 1), round(py(threshold), 1)) if threshold is not None and lo_f <= float(threshold) <= hi_f else None
    return Scatter(list(marks.values()), width, height, (LEFT, TOP, LEFT + size, TOP + size),
                   [(round(px(v), 1), t) for v, t in axis], [(round(py(v), 1), t) for v, t in axis],
                   line, forward, vetoed, unscored)
