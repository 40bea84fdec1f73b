"""Server-side SVG bar chart geometry for the dashboard (no JavaScript library)."""

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    value: int
    label: str  # shown under every 7th bar (as HTML below the SVG, where contrast can be measured)


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    peak: int
    total: int


def daily_bar_chart(series: list[tuple[date, int]], *, width: int = 600, height: int = 150) -> BarChart:
    """Lay out one bar per day, scaled to the busiest day; the page writes values and dates in HTML around it."""
    top, bottom = 2, 1
    plot = height - top - bottom
    peak = max((value for _, value in series), default=0)
    slot = width / max(1, len(series))
    bars = []
    for position, (day, value) in enumerate(series):
        bar_height = plot * value / peak if peak else 0
        bars.append(
            Bar(
                x=round(position * slot + slot * 0.15, 2),
                y=round(top + plot - bar_height, 2),
                width=round(slot * 0.7, 2),
                height=round(bar_height, 2),
                day=day,
                value=value,
                label=day.strftime("%d %b") if (len(series) - 1 - position) % 7 == 0 else "",
            )
        )
    return BarChart(width=width, height=height, baseline=top + plot, bars=bars, peak=peak,
                    total=sum(v for _, v in series))
