"""The git history source: every unique blob on every ref (and unreachable ones), read once, in parallel.

Modules: `safety` (the one way git is run), `repository` (discovery, refs, submodules, repository key),
`objects` (enumeration and ranges), `units` (the cat-file work units), `provenance` (where a secret
entered), `worktree` (uncommitted files), `source` (`GitHistorySource`).
"""

from scanner.sources.git.provenance import BlobProvenance, SecretProvenance, Sighting, combine, trace
from scanner.sources.git.repository import Repository, discover, repository_key
from scanner.sources.git.source import GitHistorySource
from scanner.sources.git.units import GitBlobBatch
from scanner.sources.git.worktree import working_tree_changes

__all__ = [
    "BlobProvenance",
    "GitBlobBatch",
    "GitHistorySource",
    "Repository",
    "SecretProvenance",
    "Sighting",
    "combine",
    "discover",
    "repository_key",
    "trace",
    "working_tree_changes",
]
