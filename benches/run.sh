#!/usr/bin/env bash
# Runs every benchmark of the project and prints the README's performance section: codec and
# engine (criterion, beside peer crates), allocations per message, end to end through mosquitto.
# Short by default (a few minutes); `--long` measures longer and sends 3x more messages a run
# (each end-to-end row is the median of three runs).
# The codec bench runs in several processes (3, `--long` 5) and each row's time is its median
# over them: a row near parity reads up to 2x apart from one process to the next, ours and
# the peers' alike, with the machine's load and where the process's stack and heap land (see
# benches/repeat.sh), which one process cannot tell from a real difference.
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
    CODEC=(--warm-up-time 0.5 --measurement-time 1.5)
    PROCESSES=5
    E2E=(--long)
else
    CRITERION=(--warm-up-time 0.3 --measurement-time 0.6)
    CODEC=(--warm-up-time 0.2 --measurement-time 0.4)
    PROCESSES=3
    E2E=()
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "rustc: $(rustc --version)"
echo "codec: each row the median of $PROCESSES processes (criterion ${CODEC[*]} in each)"
find target/criterion -mindepth 3 -maxdepth 4 -type d -name 'process-*' -prune -exec rm -rf {} + 2>/dev/null || true
baselines=()
for i in $(seq 1 "$PROCESSES"); do
    cargo bench -q -p benches --bench codec -- "${CODEC[@]}" --noplot --save-baseline "process-$i" >/dev/null
    baselines+=("process-$i")
done
cargo bench -q -p benches --bench engine -- "${CRITERION[@]}" --noplot >/dev/null
echo
cargo run -q --release -p benches --bin report -- target/criterion "${baselines[@]}"
echo
cargo bench -q -p benches --bench allocations
echo
cargo run -q --release -p benches --bin e2e -- "${E2E[@]}"
