#!/usr/bin/env bash
# Runs every cargo-fuzz target for a while (default 30 s each; `./scripts/fuzz.sh 120` for
# longer) and prints one line per target with its executions. Needs a nightly toolchain; says
# so and exits 0 when there is none. Installs cargo-fuzz when it is missing. A crash fails
# the script (the input is kept in fuzz/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-30}"
TARGETS=(decode engine encode session_file)

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "fuzz: SKIPPED: no nightly toolchain (rustup toolchain install nightly)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install --locked cargo-fuzz >/dev/null 2>&1
fi
cd fuzz
cargo +nightly fuzz build >/dev/null 2>&1 || cargo +nightly fuzz build
for target in "${TARGETS[@]}"; do
    log=$(mktemp)
    if ! cargo +nightly fuzz run "$target" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
        >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz $target: FAILED (input in fuzz/artifacts/$target/)"
        exit 1
    fi
    runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' | tail -n 1)
    echo "fuzz $target: ${runs:-?} executions in ${SECONDS_EACH} s, no failure"
    rm -f "$log"
done
