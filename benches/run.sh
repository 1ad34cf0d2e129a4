#!/usr/bin/env bash
# Runs every benchmark of the project and prints the README's performance section: codec and
# engine (criterion, beside peer crates), allocations per message, end to end through mosquitto.
# Short by default (a few minutes); `--long` measures longer and sends 3x more messages a run
# (each end-to-end row is the median of three runs).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--scale" ]; then
    # Connections per process: 5,000 idle async connections, memory per connection beside
    # rumqttc, then a QoS 1 phase (about 2 minutes). Extra arguments go to the benchmark.
    shift
    exec cargo run -q --release -p benches --bin scale -- "$@"
fi

if [ "${1:-}" = "--long" ]; then
    CRITERION=(--warm-up-time 2 --measurement-time 5)
    E2E=(--long)
else
    CRITERION=(--warm-up-time 0.3 --measurement-time 0.6)
    E2E=()
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "rustc: $(rustc --version)"
cargo bench -q -p benches --bench codec -- "${CRITERION[@]}" --noplot >/dev/null
cargo bench -q -p benches --bench engine -- "${CRITERION[@]}" --noplot >/dev/null
echo
cargo run -q --release -p benches --bin report
echo
cargo bench -q -p benches --bench allocations
echo
cargo run -q --release -p benches --bin e2e -- "${E2E[@]}"
