#!/usr/bin/env bash
# The whole test suite: unit tests and end-to-end tests against the real /usr/sbin/kamailio.
set -euo pipefail
cd "$(dirname "$0")/.."

KAMAILIO_SRC=$(bash ci/install.sh | tail -n 1)
export KAMAILIO_SRC
# The end-to-end tests load the built .so files, so build them before testing.
cargo build --workspace
# This includes tests/package_e2e.rs, which builds the Debian package with ci/package.sh
# (a release build of the modules) and installs it into a scratch dpkg root.
cargo test --workspace
