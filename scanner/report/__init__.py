"""Output formats. Each format is a Reporter registered by name in scanner.report.registry."""
