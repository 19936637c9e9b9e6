"""Text, JSON and CSV renderings of a hygiene report."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hygiene.model import Status
from hygiene.report import Report

CSV_FIELDS = ("check_id", "status", "severity", "account_id", "resource", "user", "key_id", "owner",
              "message", "cis", "security_hub", "mute_reason")  # fmt: skip


def to_json(report: Report) -> str:
    """The report as one JSON document: its keys one per line, and each result and recommendation as one
    compact line (one finding per line: readable, diffable, greppable). `json.dumps(indent=2)` runs the
    pure-Python encoder and wrote 5,000 users' 46,000 results in 0.7 s; this uses the C encoder per item."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    counts = report.counts

    def lines(items: list[Any]) -> str:
        if not items:
            return "[]"
        return "[\n    " + ",\n    ".join(encode(item) for item in items) + "\n  ]"

    document = {
        "generated_at": encode(report.generated_at.isoformat()),
        "accounts": encode(list(report.accounts)),
        "summary": encode({s.value: counts.get(s.value, 0) for s in Status}),
        "problems": lines(list(report.problems)),
        "results": lines([r.record() for r in report.problems_first()]),
        "recommendations": lines([r.record() for r in report.recommendations]),
        "key_ages": encode(report.age_histogram()),
    }
    return "{\n" + ",\n".join(f"  {encode(k)}: {v}" for k, v in document.items()) + "\n}\n"


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
