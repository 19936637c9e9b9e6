#!/usr/bin/env bash
# Install everything the tests need (system packages via apt-get, Python packages into .venv) and run
# the whole test suite, the linters and keysweep's scan of its own repository.
# Usage: bash scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests use: git (repositories made in tests).
needed=()
for package in git; do
    dpkg -s "$package" >/dev/null 2>&1 || needed+=("$package")
done
if [ "${#needed[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${needed[@]}"
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c "import scanner, hyperscan, sqlite_utils, moto, aiosmtpd, jsonschema" 

echo "== ruff"
.venv/bin/ruff check .
echo "== mypy"
.venv/bin/mypy
echo "== keysweep scans its own repository"
self_db="$(mktemp -d)/self.db"
.venv/bin/keysweep scan . --no-history --quiet --db "$self_db" --format text
echo "== pytest"
.venv/bin/python -m pytest "$@"
