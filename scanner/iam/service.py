"""IAM enrichment at the edges: after a scan (`enrich_scan`) and over the database (`enrich_stored`).

Both read the cache from the store, run `enrich_keys`, compute each key's timeline against its first
exposure, and write the results back keyed by key id. `enrich_scan` also puts them on the `ScanResult`
(`annotations[fingerprint]["iam"]`, which every structured format prints) and adds what could not be
checked to `ScanResult.notes`. Secrets are used in memory for `--verify` and never stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from scanner.aws.session import AwsClients
from scanner.iam.config import IamConfig
from scanner.iam.enrich import EnrichmentRun, enrich_keys
from scanner.iam.keyid import is_key_id
from scanner.iam.model import KeyEnrichment, Timeline
from scanner.iam.timeline import FIRST_SEEN, as_utc, first_exposure, timeline
from scanner.model import Finding, TriageStatus
from scanner.result import ScanResult
from scanner.store import Store, StoredKeyEnrichment

NOTE_PREFIX = "IAM: "


@dataclass(frozen=True)
class EnrichedKey:
    enrichment: KeyEnrichment
    timeline: Timeline

    def record(self) -> dict[str, Any]:
        return self.enrichment.as_record(self.timeline)


def load_cache(store: Store, key_ids: Iterable[str]) -> dict[str, StoredKeyEnrichment]:
    return store.key_enrichments(key_ids)


def enriched_from_store(stored: StoredKeyEnrichment) -> EnrichedKey:
    enrichment = KeyEnrichment.from_record(stored.record)
    return EnrichedKey(enrichment, timeline(enrichment, stored.first_exposed_at, stored.exposure_source))


def _save(store: Store, keys: Mapping[str, EnrichedKey]) -> None:
    store.save_key_enrichments(
        StoredKeyEnrichment(
            key_id=key_id,
            record=item.enrichment.as_record(),
            fetched_at=item.enrichment.fetched_at,
            first_exposed_at=item.timeline.first_exposure,
            exposure_source=item.timeline.exposure_source,
            timeline=item.timeline.state.value,
        )
        for key_id, item in keys.items()
    )


def _earliest(
    new: tuple[datetime | None, str | None], stored: StoredKeyEnrichment | None
) -> tuple[datetime | None, str | None]:
    """The earlier of this run's exposure and the stored one (a commit date seen once stays)."""
    if stored is None or stored.first_exposed_at is None:
        return new
    if new[0] is None or as_utc(stored.first_exposed_at) <= as_utc(new[0]):
        return as_utc(stored.first_exposed_at), stored.exposure_source
    return new


def _run(
    key_ids: list[str],
    config: IamConfig,
    cache: Mapping[str, StoredKeyEnrichment],
    now: datetime,
    secrets: Mapping[str, str],
    verify: bool,
    refresh: bool,
    clients: AwsClients | None,
) -> EnrichmentRun:
    cached = {key_id: KeyEnrichment.from_record(item.record) for key_id, item in cache.items()}
    return asyncio.run(
        enrich_keys(
            key_ids,
            config,
            now=now,
            cache=cached,
            secrets=secrets,
            verify=verify,
            refresh=refresh,
            clients=clients,
        )
    )


def enrich_scan(
    result: ScanResult,
    store: Store,
    config: IamConfig,
    *,
    now: datetime,
    verify: bool = False,
    refresh: bool = False,
    clients: AwsClients | None = None,
) -> ScanResult:
    """Enrich every reported AWS key finding of `result`; store the enrichment; annotate the result.

    Call after `Store.record_scan` (so first sightings are known). Never raises for AWS trouble: keys
    that could not be checked say `unknown` with the reason, and `notes` lists what was not checked.
    """
    by_key: dict[str, list[Finding]] = {}
    for finding in result.findings:
        if finding.key_id and is_key_id(finding.key_id.upper()):
            by_key.setdefault(finding.key_id.upper(), []).append(finding)
    if not by_key:
        return result
    secrets: dict[str, str] = {}
    if verify:
        for key_id, findings in by_key.items():
            secret = next(
                (f.secret for f in findings if f.secret_found and f.secret and f.secret != key_id), None
            )
            if secret:
                secrets[key_id] = secret
    fingerprints = {f.fingerprint for findings in by_key.values() for f in findings}
    # A finding first seen by this very scan falls back to the scan's start (said as such).
    this_scan = as_utc(result.started_at).replace(microsecond=0)
    first_seen = {fp: at for fp, at in store.first_seen(fingerprints).items() if as_utc(at) < this_scan}
    cache = load_cache(store, by_key)
    run = _run(list(by_key), config, cache, now, secrets, verify, refresh, clients)
    keys: dict[str, EnrichedKey] = {}
    for key_id, findings in by_key.items():
        enrichment = run.results.get(key_id)
        if enrichment is None:
            continue
        provenances = [result.annotations.get(f.fingerprint, {}).get("provenance") for f in findings]
        exposure = first_exposure(
            provenances, [first_seen.get(f.fingerprint) for f in findings], result.started_at
        )
        exposed_at, source = _earliest(exposure, cache.get(key_id))
        keys[key_id] = EnrichedKey(enrichment, timeline(enrichment, exposed_at, source))
    _save(store, keys)
    annotations: dict[str, dict[str, Any]] = {fp: dict(value) for fp, value in result.annotations.items()}
    for key_id, findings in by_key.items():
        if key_id in keys:
            for finding in findings:
                annotations.setdefault(finding.fingerprint, {})["iam"] = keys[key_id].record()
    notes = [*result.notes, *(NOTE_PREFIX + problem for problem in run.problems)]
    return replace(result, annotations=annotations, notes=tuple(notes))


@dataclass(frozen=True)
class StoredRun:
    keys: dict[str, EnrichedKey]
    problems: tuple[str, ...]
    calls: int
    cached: int


def enrich_stored(
    store: Store,
    config: IamConfig,
    *,
    now: datetime,
    key_ids: Iterable[str] | None = None,
    statuses: Iterable[TriageStatus] = (),
    refresh: bool = False,
    clients: AwsClients | None = None,
) -> StoredRun:
    """Enrich the AWS key ids the database holds (or these ones); no secret is stored, so no --verify."""
    sightings = store.aws_key_sightings(statuses)
    wanted = (
        [k.strip().upper() for k in key_ids if k.strip().upper() in sightings]
        if key_ids is not None
        else list(sightings)
    )
    cache = load_cache(store, wanted)
    run = _run(wanted, config, cache, now, {}, False, refresh, clients)
    keys: dict[str, EnrichedKey] = {}
    for key_id in wanted:
        enrichment = run.results.get(key_id)
        if enrichment is None:
            continue
        exposed_at, source = _earliest((sightings[key_id], FIRST_SEEN), cache.get(key_id))
        keys[key_id] = EnrichedKey(enrichment, timeline(enrichment, exposed_at, source))
    _save(store, keys)
    return StoredRun(keys, run.problems, run.calls, run.cached)
