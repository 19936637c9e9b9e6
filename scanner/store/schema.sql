-- The findings database schema: what the steps of migrations.py create on an empty database.
-- Made by `python -m scanner.store.schema > scanner/store/schema.sql`; do not edit.
-- migrations.py sha256: 7a990461f12cd69f0c68d21da237dfb367021e433ee5a6de94960f98042a434b
-- steps: m001_scans m002_findings m003_locations m004_sightings m005_skipped m006_triage_events m007_iam_keys m008_scanned_objects m009_hygiene m010_scanned_object_sets

CREATE TABLE "_sqlite_migrations" (
   "id" INTEGER PRIMARY KEY,
   "migration_set" TEXT,
   "name" TEXT,
   "applied_at" TEXT
);
CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name"
    ON "_sqlite_migrations" ("migration_set", "name");
CREATE TABLE "scans" (
   "id" INTEGER PRIMARY KEY,
   "started_at" TEXT NOT NULL,
   "finished_at" TEXT NOT NULL,
   "targets" TEXT NOT NULL,
   "tool_version" TEXT NOT NULL,
   "blobs" INTEGER NOT NULL,
   "bytes" INTEGER NOT NULL,
   "duration_seconds" REAL NOT NULL,
   "rules" INTEGER NOT NULL,
   "findings" INTEGER NOT NULL,
   "occurrences" INTEGER NOT NULL,
   "new_findings" INTEGER NOT NULL,
   "suppressed" INTEGER NOT NULL,
   "skipped" INTEGER NOT NULL,
   "status" TEXT NOT NULL,
   "notes" TEXT NOT NULL
);
CREATE TABLE "findings" (
   "fingerprint" TEXT PRIMARY KEY,
   "rule_id" TEXT NOT NULL,
   "rule_name" TEXT NOT NULL,
   "severity" TEXT NOT NULL,
   "secret_preview" TEXT NOT NULL,
   "key_id" TEXT,
   "secret_found" INTEGER,
   "first_seen_at" TEXT NOT NULL,
   "first_seen_scan" INTEGER NOT NULL REFERENCES "scans"("id"),
   "last_seen_at" TEXT NOT NULL,
   "last_seen_scan" INTEGER NOT NULL REFERENCES "scans"("id"),
   "times_seen" INTEGER NOT NULL DEFAULT 1,
   "status" TEXT NOT NULL DEFAULT 'open',
   "status_note" TEXT,
   "status_updated_at" TEXT
);
CREATE INDEX "idx_findings_rule_id"
    ON "findings" ("rule_id");
CREATE INDEX "idx_findings_status"
    ON "findings" ("status");
CREATE INDEX "idx_findings_key_id"
    ON "findings" ("key_id");
CREATE TABLE "locations" (
   "id" INTEGER PRIMARY KEY,
   "fingerprint" TEXT NOT NULL REFERENCES "findings"("fingerprint"),
   "source" TEXT NOT NULL,
   "origin" TEXT NOT NULL,
   "path" TEXT NOT NULL,
   "line" INTEGER NOT NULL,
   "col" INTEGER NOT NULL,
   "commit_id" TEXT NOT NULL DEFAULT '',
   "blob_id" TEXT NOT NULL DEFAULT '',
   "encoding" TEXT NOT NULL DEFAULT '',
   "first_scan" INTEGER NOT NULL REFERENCES "scans"("id"),
   "last_scan" INTEGER NOT NULL REFERENCES "scans"("id")
);
CREATE UNIQUE INDEX "locations_place"
    ON "locations" ("fingerprint", "source", "origin", "path", "line", "col", "commit_id", "blob_id", "encoding");
CREATE TABLE "sightings" (
   "scan_id" INTEGER NOT NULL REFERENCES "scans"("id"),
   "fingerprint" TEXT NOT NULL REFERENCES "findings"("fingerprint"),
   PRIMARY KEY ("scan_id", "fingerprint")
);
CREATE INDEX "idx_sightings_fingerprint"
    ON "sightings" ("fingerprint");
CREATE TABLE "skipped" (
   "id" INTEGER PRIMARY KEY,
   "scan_id" INTEGER NOT NULL REFERENCES "scans"("id"),
   "source" TEXT NOT NULL,
   "origin" TEXT NOT NULL,
   "path" TEXT NOT NULL,
   "commit_id" TEXT NOT NULL DEFAULT '',
   "blob_id" TEXT NOT NULL DEFAULT '',
   "reason" TEXT NOT NULL,
   "detail" TEXT NOT NULL
);
CREATE INDEX "idx_skipped_scan_id"
    ON "skipped" ("scan_id");
CREATE TABLE "triage_events" (
   "id" INTEGER PRIMARY KEY,
   "fingerprint" TEXT NOT NULL REFERENCES "findings"("fingerprint"),
   "old_status" TEXT NOT NULL,
   "new_status" TEXT NOT NULL,
   "note" TEXT,
   "at" TEXT NOT NULL
);
CREATE INDEX "idx_triage_events_fingerprint"
    ON "triage_events" ("fingerprint");
CREATE TABLE "iam_keys" (
   "key_id" TEXT PRIMARY KEY,
   "account_id" TEXT,
   "account_name" TEXT,
   "ownership" TEXT NOT NULL,
   "state" TEXT NOT NULL,
   "principal" TEXT,
   "user_name" TEXT,
   "owner" TEXT,
   "contacts" TEXT NOT NULL DEFAULT '',
   "live" INTEGER,
   "timeline" TEXT,
   "first_exposed_at" TEXT,
   "exposure_source" TEXT,
   "fetched_at" TEXT NOT NULL,
   "verified_at" TEXT,
   "record" TEXT NOT NULL
);
CREATE INDEX "idx_iam_keys_account_id"
    ON "iam_keys" ("account_id");
CREATE INDEX "idx_iam_keys_state"
    ON "iam_keys" ("state");
CREATE TABLE "hygiene_mail" (
   "id" INTEGER PRIMARY KEY,
   "sent_at" TEXT NOT NULL,
   "recipient" TEXT NOT NULL,
   "subject" TEXT,
   "digest" TEXT NOT NULL,
   "transport" TEXT NOT NULL,
   "status" TEXT NOT NULL,
   "message_id" TEXT,
   "results" INTEGER,
   "detail" TEXT
);
CREATE INDEX "idx_hygiene_mail_recipient_digest"
    ON "hygiene_mail" ("recipient", "digest");
CREATE TABLE "hygiene_actions" (
   "id" INTEGER PRIMARY KEY,
   "at" TEXT NOT NULL,
   "action" TEXT NOT NULL,
   "account_id" TEXT NOT NULL,
   "user_name" TEXT,
   "key_id" TEXT,
   "applied" INTEGER NOT NULL,
   "outcome" TEXT NOT NULL,
   "detail" TEXT,
   "actor" TEXT
);
CREATE INDEX "idx_hygiene_actions_key_id"
    ON "hygiene_actions" ("key_id");
CREATE TABLE "scanned_object_sets" (
   "id" INTEGER PRIMARY KEY,
   "repo_key" TEXT NOT NULL,
   "rules_digest" TEXT NOT NULL,
   "scan_id" INTEGER,
   "id_bytes" INTEGER NOT NULL,
   "object_count" INTEGER NOT NULL,
   "object_ids" BLOB NOT NULL
);
CREATE INDEX "idx_scanned_object_sets_repo_key_rules_digest"
    ON "scanned_object_sets" ("repo_key", "rules_digest");
