#!/usr/bin/env bash
# ci/bench-xcap-server.sh with PUTs spread over many users' documents: PUT_DOCS (default 64)
# users' documents, CONNECTIONS (default 8) clients, on SQLite and PostgreSQL (PG, default 1),
# so that writes to different documents may proceed at once. Everything else as that script
# (its environment applies); ci/bench.sh runs it as the benchmark "xcap-spread".
set -euo pipefail
export PUT_DOCS=${PUT_DOCS:-64} CONNECTIONS=${CONNECTIONS:-8} PG=${PG:-1}
export OUT=${OUT:-"$(cd "$(dirname "$0")/.." && pwd)/target/bench-xcap-spread.md"}
exec bash "$(dirname "$0")/bench-xcap-server.sh"
