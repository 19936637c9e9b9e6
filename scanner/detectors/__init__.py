"""Code detectors, only where a regular expression cannot do the job (pairing a key id with its secret)."""
