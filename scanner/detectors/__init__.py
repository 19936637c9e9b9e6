"""Code detectors: only where a regular expression cannot do the job (pairing an AWS key id with its secret)."""
