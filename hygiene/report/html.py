"""HTML rendering (Jinja2, autoescaped): inline styles only and an inline SVG bar chart of active key ages,
so that the page reads the same in a browser and in a mail client (no scripts, no external resources)."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from hygiene.model import Status
from hygiene.report import Report

STATUS_COLOURS = {"ERROR": "#7b1fa2", "FAIL": "#c62828", "MUTED": "#757575", "PASS": "#2e7d32"}
BAR_COLOURS = ("#2e7d32", "#9e9d24", "#ef6c00", "#d84315", "#b71c1c")


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("hygiene", "report/templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def age_chart(histogram: list[tuple[str, int]], width: int = 520, bar_height: int = 22) -> str:
    """An inline SVG horizontal bar chart (escaped labels: they are fixed strings and numbers)."""
    top = max((count for _, count in histogram), default=0) or 1
    label_width, gap = 90, 6
    height = len(histogram) * (bar_height + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="Active access keys by age">'
    ]
    for i, (label, count) in enumerate(histogram):
        y = gap + i * (bar_height + gap)
        length = int((width - label_width - 60) * count / top)
        colour = BAR_COLOURS[min(i, len(BAR_COLOURS) - 1)]
        parts.append(
            f'<text x="0" y="{y + bar_height - 6}" font-family="Arial,sans-serif" font-size="13">'
            f"{label}</text>"
            f'<rect x="{label_width}" y="{y}" width="{length}" height="{bar_height}" fill="{colour}"/>'
            f'<text x="{label_width + length + 6}" y="{y + bar_height - 6}" font-family="Arial,sans-serif" '
            f'font-size="13">{count}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render(report: Report, by: str, *, show_passed: bool = True) -> str:
    from markupsafe import Markup

    groups = [
        (name, [r for r in results if show_passed or r.status is not Status.PASS])
        for name, results in report.grouped(by)
    ]
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        by=by,
        groups=[g for g in groups if g[1]],
        counts={s.value: report.counts.get(s.value, 0) for s in Status},
        colours=STATUS_COLOURS,
        chart=Markup(age_chart(report.age_histogram())),
    )
