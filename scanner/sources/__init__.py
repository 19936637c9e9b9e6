"""Scan sources: each turns something the user named into work units that yield Blobs (or Skipped)."""
