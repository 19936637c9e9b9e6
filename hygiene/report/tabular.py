"""Text, JSON and CSV renderings of a hygiene report."""

from __future__ import annotations

import csv
import io
import json

from hygiene.model import Status
from hygiene.report import Report

CSV_FIELDS = ("check_id", "status", "severity", "account_id", "resource", "user", "key_id", "owner",
              "message", "cis", "security_hub", "mute_reason")  # fmt: skip


def to_json(report: Report) -> str:
    document = {
        "generated_at": report.generated_at.isoformat(),
        "accounts": list(report.accounts),
        "summary": {s.value: report.counts.get(s.value, 0) for s in Status},
        "problems": list(report.problems),
        "results": [r.record() for r in report.problems_first()],
        "recommendations": [r.record() for r in report.recommendations],
        "key_ages": report.age_histogram(),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in report.problems_first():
        writer.writerow({k: ("" if v is None else v) for k, v in r.record().items()})
    return out.getvalue()


def to_text(report: Report, by: str, *, show_passed: bool = True) -> str:
    lines = [f"{report.title} - {report.generated_at:%Y-%m-%d %H:%M} UTC"]
    counts = report.counts
    lines.append("  ".join(f"{s.value} {counts.get(s.value, 0)}" for s in Status))
    for problem in report.problems:
        lines.append(f"ERROR  {problem}")
    for group, results in report.grouped(by):
        lines.append("")
        lines.append(f"== {by} {group}")
        for r in results:
            if r.status is Status.PASS and not show_passed:
                continue
            controls = ", ".join(c for c in (r.cis, r.security_hub) if c)
            lines.append(
                f"{r.status.value:<6} {r.severity.value:<8} {r.check_id:<22} {r.resource}  {r.message}"
                + (f"  [{controls}]" if controls else "")
                + (f"  (muted: {r.mute_reason})" if r.mute_reason else "")
            )
    if report.recommendations:
        lines.append("")
        lines.append("== recommendations")
        for rec in report.recommendations:
            lines.append(f"-- {rec.key_id} ({rec.user}, account {rec.account_id}): {rec.title}")
            lines.append(f"   {rec.why}")
            lines.extend(f"   $ {c}" for c in rec.commands)
    return "\n".join(lines) + "\n"
