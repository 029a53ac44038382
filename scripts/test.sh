#!/usr/bin/env bash
# The whole test suite: setup, lint, type-check, then every test (unit, etcd, kernel, cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "test: lint"
npm run --silent lint
echo "test: running tests"
# One file at a time: cluster tests build namespace hosts and must not fight for the 2 cores.
# Only *.test.js files: Node 20 would also run every other file under a folder named "test".
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
node --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
