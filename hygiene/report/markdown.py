"""Markdown rendering of a hygiene report (for tickets, wikis, pull requests)."""

from __future__ import annotations

from hygiene.model import Status
from hygiene.report import Report


def _cell(text: object) -> str:
    return str(text or "").replace("|", "\\|").replace("\n", " ")


def render(report: Report, by: str, *, show_passed: bool = True) -> str:
    counts = report.counts
    out = [f"# {report.title}", "", f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC.", ""]
    out.append(" · ".join(f"**{s.value}** {counts.get(s.value, 0)}" for s in Status))
    out.append("")
    for problem in report.problems:
        out.append(f"> **ERROR** {problem}")
    out.append("## Active key ages")
    out.append("")
    out.append("| age | keys |")
    out.append("| --- | ---: |")
    out.extend(f"| {label} | {count} |" for label, count in report.age_histogram())
    for group, results in report.grouped(by):
        shown = [r for r in results if show_passed or r.status is not Status.PASS]
        if not shown:
            continue
        out += ["", f"## {by.capitalize()} {group}", ""]
        out.append("| status | severity | check | resource | message | controls |")
        out.append("| --- | --- | --- | --- | --- | --- |")
        for r in shown:
            controls = ", ".join(c for c in (r.cis, r.security_hub) if c)
            message = r.message + (f" (muted: {r.mute_reason})" if r.mute_reason else "")
            out.append(
                f"| {r.status.value} | {r.severity.value} | `{r.check_id}` | `{_cell(r.resource)}` | "
                f"{_cell(message)} | {_cell(controls)} |"
            )
    if report.recommendations:
        out += ["", "## Recommendations"]
        for rec in report.recommendations:
            out += ["", f"### `{rec.key_id}` ({rec.user}, account {rec.account_id}): {rec.title}", ""]
            out.append(rec.why)
            out.append("")
            out.extend(f"{i}. {step}" for i, step in enumerate(rec.steps, 1))
            out += ["", "```sh", *rec.commands, "```"]
    return "\n".join(out) + "\n"
