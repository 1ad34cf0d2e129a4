#!/usr/bin/env bash
# Runs chosen codec benchmark rows in eight processes, one after the other, and prints each
# row's time in every process and its median. Rows near parity (ours and the peers' alike) read
# up to 2x apart from one process to the next on this shared machine: with where the process's
# stack and heap land (address-space randomization) and with what the machine is doing, even
# under `setarch -R`. One process cannot tell that from a real difference; `benches/run.sh`
# therefore reports every codec row as a median over processes.
#   ./benches/repeat.sh 'encode_publish_v311_qos0/(ours|mqtt_protocol)/0$' [PROCESSES]
set -euo pipefail
cd "$(dirname "$0")/.."
FILTER="${1:?usage: benches/repeat.sh CRITERION_FILTER [PROCESSES]}"
PROCESSES="${2:-8}"
bin=$(cargo bench -q -p benches --bench codec --no-run --message-format=json 2>/dev/null |
    grep -o '"executable":"[^"]*codec-[^"]*"' | tail -n 1 | cut -d'"' -f4)
out=$(mktemp)
for i in $(seq 1 "$PROCESSES"); do
    "$bin" --bench "$FILTER" --warm-up-time 0.5 --measurement-time 1 --noplot 2>/dev/null |
        awk -v i="$i" '/^[a-z]/ && !/time:/ {row=$1} /time:/ && !/%/ {print row, i, $4, $5}'
done >"$out"
for row in $(cut -d' ' -f1 "$out" | sort -u); do
    times=$(awk -v r="$row" '$1 == r {print $3}' "$out")
    unit=$(awk -v r="$row" '$1 == r {print $4; exit}' "$out")
    n=$(echo "$times" | wc -l)
    median=$(echo "$times" | sort -g | sed -n "$(((n + 1) / 2))p")
    printf '%-50s median %s %s   (process by process: %s)\n' "$row" "$median" "$unit" "$(echo $times)"
done
rm -f "$out"
