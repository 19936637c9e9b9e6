"""IAM enrichment in words, for the text report and SARIF messages. No AWS, no boto3: reports import this."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _when(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else ""


def one_line(record: Mapping[str, Any]) -> str:
    """`active key of user alice in account 111122223333 (prod); contact alice@example.com; ...`."""
    state = str(record.get("state", "unknown"))
    who = ""
    if record.get("principal") == "root":
        who = " of the ROOT user"
    elif record.get("user"):
        who = f" of user {record['user']}"
    parts = [f"{state} key{who}"]
    if record.get("account_id"):
        name = f" ({record['account_name']})" if record.get("account_name") else ""
        parts[0] += f" in account {record['account_id']}{name} [{record.get('ownership', 'unknown')}]"
    if record.get("canary"):
        parts.append(f"canary token: {record['canary']}; never contacted")
    if record.get("owner"):
        parts.append(f"contact {record['owner']}")
    if record.get("last_used_at"):
        used_at = (record.get("last_used_service"), record.get("last_used_region"))
        where = ", ".join(str(x) for x in used_at if x)
        parts.append(f"last used {_when(record['last_used_at'])}" + (f" ({where})" if where else ""))
    if record.get("admin"):
        parts.append("admin-level access")
    if record.get("console_access"):
        parts.append("console access" + ("" if record.get("mfa") else " without MFA"))
    verification = record.get("verification") or {}
    if verification.get("result"):
        parts.append(f"verify: {verification['result']}")
    timeline = record.get("timeline") or {}
    if timeline.get("state"):
        parts.append(f"{timeline['state']}: {timeline.get('detail', '')}")
    if state == "unknown" and record.get("reason"):
        parts.append(f"not checked: {record['reason']}")
    return "; ".join(parts)
