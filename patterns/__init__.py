"""Rule data shipped with keysweep: one TOML file per provider family. See scanner/rules.py for the schema."""
