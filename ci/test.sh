#!/usr/bin/env bash
# The whole test suite: unit tests and end-to-end tests against the real /usr/sbin/kamailio.
set -euo pipefail
cd "$(dirname "$0")/.."

KAMAILIO_SRC=$(bash ci/install.sh | tail -n 1)
export KAMAILIO_SRC
# The end-to-end tests load the built .so files, so build them before testing.
cargo build --workspace
cargo test --workspace
