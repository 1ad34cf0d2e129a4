#!/usr/bin/env bash
# The whole test set-up on a fresh machine: installs what the tests need, then runs every test
# of the workspace. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace "$@"
