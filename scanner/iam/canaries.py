"""AWS accounts that issue canary tokens: keys planted to catch whoever uses them.

A canary key must never be touched: any call made with it (even `sts:GetCallerIdentity`) trips the alarm
of whoever planted it, and tells an attacker's tooling apart from ours for nothing. keysweep recognises
them from the account decoded offline (`keyid.py`) and makes no call at all about them, not even
`sts:GetAccessKeyInfo` (which only the caller's own CloudTrail sees, but there is nothing to learn).

Published account ids, as collected by TruffleHog (trufflesecurity/trufflehog,
`pkg/detectors/aws/access_keys/canary.go`; background: trufflesecurity.com/canaries):
Thinkst Canarytokens (canarytokens.org) and look-alike ("off-brand") canary services. Users add their own
(`[iam] canary_accounts`).
"""

from __future__ import annotations

from collections.abc import Mapping

THINKST = "Thinkst Canarytokens (canarytokens.org)"
OFF_BRAND = "canary service modelled on canarytokens.org"

THINKST_ACCOUNTS = frozenset(
    {
        "052310077262",
        "171436882533",
        "266735846894",
        "534261010715",
        "595918472158",
        "717712589309",
        "730335385048",
        "819147034852",
        "893192397702",
        "992382622183",
    }
)
OFF_BRAND_ACCOUNTS = frozenset(
    {
        "044858866125",
        "251535659677",
        "344043088457",
        "351906852752",
        "390477818340",
        "426127672474",
        "427150556519",
        "439872796651",
        "445142720921",
        "465867158099",
        "637958123769",
        "693412236332",
        "732624840810",
        "735421457923",
        "959235150393",
        "982842642351",
    }
)


def canary_vendor(account_id: str | None, extra: Mapping[str, str] | None = None) -> str | None:
    """Who issues canary keys from `account_id`, or None if it is not a known canary account."""
    if not account_id:
        return None
    if extra and account_id in extra:
        return extra[account_id]
    if account_id in THINKST_ACCOUNTS:
        return THINKST
    if account_id in OFF_BRAND_ACCOUNTS:
        return OFF_BRAND
    return None
