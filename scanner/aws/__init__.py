"""Shared AWS plumbing: sessions and endpoints (`session`), settings (`settings`), retry policy, Organizations
accounts and a role per account (`accounts`), bounded concurrency (`runner`), failures as values (`errors`).
Used by IAM enrichment (`scanner.iam`) and the hygiene checks.

Nothing here decides what a failure means: calls raise `AwsCallFailed` with a `Failure` value. Import from
the modules (this package imports nothing, so that reading settings never loads boto3).
"""
