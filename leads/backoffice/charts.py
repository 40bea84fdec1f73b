"""Server-side SVG bar chart geometry for the dashboard (no JavaScript library)."""

import math
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


@dataclass(frozen=True)
class Band:
    """A rectangle spanning one histogram step on the response chart's time scale."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class WeekColumn:
    week: object  # leads.domain.response_time.WeekStats: its numbers, for the <title>
    median: Band | None
    p90: Band | None


@dataclass(frozen=True)
class ResponseChart:
    width: int
    height: int
    baseline: float
    hour: float  # where the 1-hour and 1-day lines are drawn
    day: float
    columns: list[WeekColumn]


# The chart's time scale: logarithmic, 30 seconds at the bottom to 45 days at the top (every step fits).
SCALE_LOW, SCALE_HIGH = 30, 45 * 86400


def response_chart(weeks, *, width: int = 600, height: int = 150) -> ResponseChart:
    """Lay out, per week, the steps holding the median (narrow, dark) and the 90th percentile (wide, light)."""
    top, bottom = 2, 1
    plot = height - top - bottom

    def y(seconds: float | None, default: float) -> float:
        seconds = min(max(seconds or default, SCALE_LOW), SCALE_HIGH)
        return round(top + plot * (1 - math.log(seconds / SCALE_LOW) / math.log(SCALE_HIGH / SCALE_LOW)), 2)

    def band(percentile, position: int, share: float) -> Band | None:
        if percentile is None:
            return None
        upper, lower = y(percentile.upper, SCALE_HIGH), y(percentile.lower, SCALE_LOW)
        slot = width / max(1, len(weeks))
        return Band(x=round(position * slot + slot * (1 - share) / 2, 2), y=upper, width=round(slot * share, 2),
                    height=round(max(1.0, lower - upper), 2))

    columns = [WeekColumn(week=week, median=band(week.median, n, 0.3), p90=band(week.p90, n, 0.7))
               for n, week in enumerate(weeks)]
    return ResponseChart(width=width, height=height, baseline=top + plot, hour=y(3600, 0), day=y(86400, 0),
                         columns=columns)
