"""One scan, start to finish: targets → sources → pipeline → git provenance → triage → store → IAM.

The CLI builds a `ScanRequest` from its options and calls `run_job`; the web service and the Dask
sweeps will do the same. Errors come out as `UsageError` (the request is wrong: exit 2) or
`ScanFailed` (the scan could not run: exit 3), each a full sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.config import Config, ConfigError, parse_size
from scanner.engine import rules_digest
from scanner.model import Finding, Severity, SkipReason, SourceKind, TriageStatus
from scanner.pipeline import Progress, ScanSettings, apply_triage, scan_sources
from scanner.result import ScanResult
from scanner.rules import Rule, RuleError, load_builtin_rules
from scanner.sources.files import FileListSource, FileSource
from scanner.sources.interface import Limits, Source, SourceError
from scanner.store import Store, StoreError

if TYPE_CHECKING:
    from scanner.repo_settings import RangeBase, RepoSettings

DEFAULT_MAX_FILE_SIZE = 1024**3
# Blobs whose reading failed are not remembered as scanned: the next scan tries them again.
_UNREAD = frozenset({SkipReason.UNREADABLE, SkipReason.ERROR, SkipReason.MISSING_OBJECT})
_MAX_LATER_SIGHTINGS = 50


class JobError(Exception):
    """A scan job failed; the message is a full sentence for people."""


class UsageError(JobError):
    """The request is wrong (bad config, unknown path or revision): exit code 2."""


class ScanFailed(JobError):
    """The scan could not run (database unusable, rules broken): exit code 3."""


@dataclass(frozen=True)
class ScanRequest:
    targets: tuple[Path, ...]
    db_path: Path
    config_path: Path | None = None
    disabled_rules: tuple[str, ...] = ()
    max_file_size: str | None = None
    max_archive_depth: int | None = None
    decode: bool = True
    workers: int = 0
    history: bool = True
    range: str | None = None
    since: str | None = None
    incremental: bool = True
    iam: bool = False
    verify: bool = False
    aws_profile: str | None = None
    # CI modes and options (README "Use in CI")
    staged: bool = False  # scan the index against HEAD
    pre_push: tuple[Any, ...] | None = None  # PushUpdate lines from git's pre-push stdin
    baseline: Path | None = None  # suppress the findings this baseline file knows
    no_repo_config: bool = False  # ignore .keysweep.toml, .gitleaks.toml, .gitleaksignore in the repository
    fail_on: str | None = None  # the lowest severity that fails the scan (exit 1)
    # where suppressed findings entered the history too (only shown with --show-suppressed: on a big
    # history most findings are suppressed digests and ids, and tracing them is most of that pass)
    provenance_of_suppressed: bool = True


@dataclass(frozen=True)
class JobOutcome:
    """A finished job: the result and what decides its exit code."""

    result: ScanResult
    fail_on: Severity | None = None

    @property
    def failed(self) -> bool:
        """Exit 1: a reported finding at or above the threshold (any finding without one)."""
        if self.fail_on is None:
            return not self.result.clean
        return any(f.severity.rank >= self.fail_on.rank for f in self.result.findings)


@dataclass
class _GitTarget:
    source: Any  # GitHistorySource (imported lazily: plain directory scans never load git code)
    digest: str
    reused: int = 0


@dataclass
class _Plan:
    sources: list[Source] = field(default_factory=list)
    git: list[_GitTarget] = field(default_factory=list)
    working_tree: list[FileListSource] = field(default_factory=list)


def is_git_repository(path: Path) -> bool:
    """A repository's top directory (with `.git`) or a bare repository / mirror."""
    if not path.is_dir():
        return False
    if (path / ".git").exists():
        return True
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def prepare(request: ScanRequest) -> tuple[Config, tuple[Rule, ...], Limits]:
    settings, rules, limits = prepare_settings(request)
    return settings.config, rules, limits


def _wants_range(request: ScanRequest) -> bool:
    return request.range is not None or request.since is not None


def prepare_settings(request: ScanRequest) -> tuple[RepoSettings, tuple[Rule, ...], Limits]:
    """The configuration (from the base commit in range mode: see scanner/repo_settings.py), rules, limits."""
    from scanner.repo_settings import SETTINGS_FILES, SettingsError, load_settings, resolve_range

    modes = sum((_wants_range(request), request.staged, request.pre_push is not None))
    if modes > 1:
        raise UsageError("choose one of --range/--since, --staged and --pre-push.")
    range_base = None
    try:
        builtin = load_builtin_rules()
        if _wants_range(request) and is_git_repository(request.targets[0]):
            read = () if request.no_repo_config else SETTINGS_FILES
            range_base = resolve_range(request.targets[0], request.range, request.since, read)
        settings = load_settings(
            explicit_config=request.config_path,
            no_repo_config=request.no_repo_config,
            roots=request.targets,
            baseline_path=request.baseline,
            known_rules=frozenset(rule.id for rule in builtin),
            range_base=range_base,
        )
        config = settings.config
        rules = tuple(config.select_rules(builtin, request.disabled_rules))
        limits = Limits(max_file_size=DEFAULT_MAX_FILE_SIZE)
        if config.max_file_size is not None:
            limits = replace(limits, max_file_size=config.max_file_size)
        if request.max_file_size is not None:
            limits = replace(limits, max_file_size=parse_size(request.max_file_size, "--max-file-size"))
        if request.max_archive_depth is not None:
            limits = replace(limits, max_archive_depth=request.max_archive_depth)
    except (ConfigError, RuleError, SettingsError, SourceError) as exc:
        raise UsageError(str(exc)) from None
    return settings, rules, limits


def plan_sources(
    request: ScanRequest,
    config: Config,
    rules: Sequence[Rule],
    store: Store,
    range_base: RangeBase | None = None,
) -> _Plan:
    """`range_base`: the range as `prepare_settings` resolved it (its repository is not discovered
    and its commits not resolved again)."""
    plan = _Plan()
    wants_range = _wants_range(request)
    digest = rules_digest(rules)
    for target in request.targets:
        try:
            if request.staged or request.pre_push is not None:
                plan.sources.append(_diff_source(request, target))
                continue
            if not is_git_repository(target):
                if wants_range:
                    raise UsageError(f"{target} is not a git repository: --range and --since need one.")
                plan.sources.append(FileSource(target, exclude=config.policy.path_excluded))
                continue
            if not request.history and not wants_range:
                plan.sources.append(FileSource(target, exclude=config.policy.path_excluded))
                continue
            from scanner.sources.git import GitHistorySource

            known = range_base if range_base is not None and target == request.targets[0] else None
            source = GitHistorySource(
                target,
                range=request.range,
                since=request.since,
                repository=known.repository if known is not None else None,
                resolved=(known.base, known.head) if known is not None else None,
            )
            git_target = _GitTarget(source, digest)
            if request.incremental and not wants_range:
                exclude = {repo.key: store.scanned_objects(repo.key, digest) for repo in source.repositories}
                source.exclude_oids = exclude
                git_target.reused = sum(len(oids) for oids in exclude.values())
            plan.sources.append(source)
            plan.git.append(git_target)
            if not wants_range:
                for repository, files in source.working_tree_files():
                    if files:
                        root = Path(str(repository.work_tree))
                        changed = [f for f in files if not config.policy.path_excluded(_relative(f, root))]
                        label = f"uncommitted files of {repository.origin}"
                        working_tree = FileListSource(root, changed, label)
                        plan.sources.append(working_tree)
                        plan.working_tree.append(working_tree)
        except SourceError as exc:
            raise UsageError(str(exc)) from None
    return plan


def _diff_source(request: ScanRequest, target: Path) -> Source:
    from scanner.sources.staged import PushSource, StagedSource

    if not target.is_dir():
        raise UsageError(f"{target} is not a git repository: --staged and --pre-push need one.")
    if request.staged:
        return StagedSource(target)
    return PushSource(target, request.pre_push or ())


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def run_job(request: ScanRequest, progress: Progress | None = None) -> ScanResult:
    return run_job_outcome(request, progress).result


def run_job_outcome(request: ScanRequest, progress: Progress | None = None) -> JobOutcome:
    """Run the job; the outcome carries the --fail-on threshold (option, else [ci] fail_on)."""
    from scanner.config import parse_severity

    settings, rules, limits = prepare_settings(request)
    config = settings.config
    try:
        fail_on = parse_severity(request.fail_on, "--fail-on") if request.fail_on else config.fail_on
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    try:
        store = Store.open(request.db_path)
    except StoreError as exc:
        raise ScanFailed(f"{exc} (choose another database with --db PATH)") from None
    with store:
        plan = plan_sources(request, config, rules, store, settings.range_base)
        repo = settings
        scan_settings = ScanSettings(
            rules=rules, policy=config.policy, limits=limits, workers=request.workers, decode=request.decode
        )
        try:
            result = scan_sources(plan.sources, scan_settings, progress)
            notes = [*repo.notes, *result.notes]
            for source in plan.sources:
                notes.extend(getattr(source, "notes", ()))
            if repo.warnings:
                result = replace(result, skipped=result.skipped + repo.warnings)
            if plan.git:
                # In --range/--since mode each finding already names the commit of the range that
                # introduced it; tracing it through the whole history would read every commit.
                if not _wants_range(request):
                    result = _with_provenance(result, plan, suppressed=request.provenance_of_suppressed)
                    result = _one_row_per_place(result)
                notes.extend(_git_notes(plan, store))
        finally:
            for source in plan.sources:
                source.close()
        result = apply_triage(result, store.triage_statuses())
        result = _apply_repo_suppressions(result, repo)
        recorded = store.record_scan(replace(result, notes=tuple(notes)), datetime.now(UTC))
        result = replace(result, scan_id=recorded.scan_id, notes=tuple(notes))
        for target in plan.git:
            _remember_scanned_objects(store, target, result, recorded.scan_id)
        carried = _carried_over(store, plan, result)
        if carried:
            note = (
                f"{carried} open finding(s) from earlier scans are in objects not read again (still leaked)."
            )
            result = replace(result, known_open=carried, notes=(*result.notes, note))
        if request.iam or request.verify:
            from scanner.cli.iam import enrich_scan_result

            result = enrich_scan_result(
                result, store, config.iam, verify=request.verify, profile=request.aws_profile
            )
    return JobOutcome(result, fail_on)


def _apply_repo_suppressions(result: ScanResult, repo: RepoSettings) -> ScanResult:
    """gitleaks commits and .gitleaksignore entries, then the baseline (suppressed, not reported)."""
    from scanner import baseline, gitleaks_import

    result = gitleaks_import.apply(result, repo.gitleaks)
    if repo.baseline is not None:
        result = baseline.apply(result, repo.baseline)
    return result


def _with_provenance(result: ScanResult, plan: _Plan, *, suppressed: bool = True) -> ScanResult:
    """Where each secret found in git history entered, and whether it is still at HEAD (`suppressed`:
    for the suppressed findings too)."""
    from scanner.sources.git.provenance import combine_by_fingerprint

    reported = {finding.fingerprint for finding in result.findings}
    # a suppressed sighting of a reported secret still says where it entered, so it always counts
    every = list(result.findings) + [f for f in result.suppressed if suppressed or f.fingerprint in reported]
    git_findings = [f for f in every if f.location.source is SourceKind.GIT and f.location.blob_id]
    if not git_findings:
        return result
    worktree_roots = {str(source.root) for source in plan.working_tree}
    in_working_tree = {
        f.fingerprint
        for f in every
        if f.location.source is SourceKind.FILE and f.location.origin in worktree_roots
    }
    annotations: dict[str, dict[str, Any]] = {k: dict(v) for k, v in result.annotations.items()}
    for target in plan.git:
        source = target.source
        provenances = source.provenance(f.location for f in git_findings)
        by_blob = {blob_id: p for (_origin, blob_id), p in provenances.items()}
        blobs_by_fingerprint: dict[str, set[str]] = {}
        for finding in git_findings:
            if (finding.location.origin, finding.location.blob_id) in provenances:
                blobs_by_fingerprint.setdefault(finding.fingerprint, set()).add(str(finding.location.blob_id))
        for fingerprint, secret in combine_by_fingerprint(
            blobs_by_fingerprint, by_blob, in_working_tree
        ).items():
            annotations.setdefault(fingerprint, {})["provenance"] = _provenance_record(secret)
    notes = list(result.notes)
    for target in plan.git:
        notes.extend(f"provenance: {problem}" for problem in target.source.provenance_problems)
    return replace(result, annotations=annotations, notes=tuple(notes))


def _one_row_per_place(result: ScanResult) -> ScanResult:
    """One secret at the same path, line and column in several versions of a file (several blobs) is
    one row in reports: the versions are listed in its provenance (`blob_ids`, later commits)."""

    def collapse(findings: Sequence[Finding]) -> tuple[Finding, ...]:
        kept: dict[tuple[object, ...], Finding] = {}
        for finding in findings:
            location = finding.location
            key = (
                finding.fingerprint,
                finding.rule_id,
                location.source,
                location.origin,
                location.path,
                location.commit,
                finding.line,
                finding.column,
            )
            if key not in kept or (finding.secret_found and not kept[key].secret_found):
                kept[key] = finding
        return tuple(kept.values())

    return replace(result, findings=collapse(result.findings), suppressed=collapse(result.suppressed))


def _sighting_record(sighting: Any) -> dict[str, Any]:
    return {
        "commit": sighting.commit,
        "author": sighting.author,
        "date": sighting.date,
        "summary": sighting.summary,
        "path": sighting.path,
    }


def _provenance_record(secret: Any) -> dict[str, Any]:
    if secret.only_unreachable:
        status = "only-unreachable"
    elif secret.only_in_history:
        status = "only-in-history"
    elif secret.at_head:
        status = "at-head"
    else:
        status = "working-tree"
    later = list(secret.later)
    return {
        "status": status,
        "first": _sighting_record(secret.first) if secret.first else None,
        "later": [_sighting_record(s) for s in later[:_MAX_LATER_SIGHTINGS]],
        "later_count": len(later),
        "blob_ids": list(secret.blob_ids),
    }


def _git_notes(plan: _Plan, store: Store) -> list[str]:
    notes: list[str] = []
    for target in plan.git:
        if target.reused:
            origin = target.source.repository.origin
            notes.append(
                f"incremental: {target.reused:,} objects of {origin} were already scanned with these rules "
                "and were not read again (findings in them are in the database: keysweep findings --origin "
                f"{origin}; rescan everything with --full)."
            )
    return notes


def _remember_scanned_objects(
    store: Store, target: _GitTarget, result: ScanResult, scan_id: int | None
) -> None:
    source = target.source
    if source.spec is not None or scan_id is None:
        return
    unread = {s.location.blob_id for s in result.skipped if s.reason in _UNREAD and s.location.blob_id}
    for repo_key, oids in source.planned_oids.items():
        store.record_scanned_objects(
            repo_key, (oid for oid in oids if oid not in unread), target.digest, scan_id
        )


def _carried_over(store: Store, plan: _Plan, result: ScanResult) -> int:
    """Open findings stored for the objects an incremental scan did not read again: still leaked, so
    they still count for the exit code (a second scan of a leaky repository must not pass)."""
    from scanner.store.values import FindingFilter

    if not any(target.reused for target in plan.git):
        return 0
    reported = {f.fingerprint for f in result.findings} | {f.fingerprint for f in result.suppressed}
    carried: set[str] = set()
    for target in plan.git:
        if not target.reused:
            continue
        wanted = FindingFilter(
            statuses=frozenset({TriageStatus.OPEN, TriageStatus.REVOKED}),
            source=SourceKind.GIT,
            origin=target.source.repository.origin,
        )
        carried.update(f.fingerprint for f in store.list_findings(wanted) if f.fingerprint not in reported)
    return len(carried)
