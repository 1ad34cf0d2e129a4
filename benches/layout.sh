#!/usr/bin/env bash
# Runs codec benchmark rows under several process layouts: the same binary, the environment
# padded by 0 to 3,500 bytes, which moves the stack against the heap. Some rows (ours and the
# peers' alike) read up to 2x apart from one layout to the next (store-forwarding and
# aliasing stalls), which a single run cannot tell from a real difference. Prints each row's
# time per padding and its median.
#   ./benches/layout.sh 'encode_publish_v311_qos0/(ours|mqtt_protocol)/0$'
set -euo pipefail
cd "$(dirname "$0")/.."
FILTER="${1:?usage: benches/layout.sh CRITERION_FILTER}"
bin=$(cargo bench -q -p benches --bench codec --no-run --message-format=json 2>/dev/null |
    grep -o '"executable":"[^"]*codec-[^"]*"' | tail -n 1 | cut -d'"' -f4)
out=$(mktemp)
for pad in 0 500 1000 1500 2000 2500 3000 3500; do
    env LAYOUT_PAD="$(head -c "$pad" /dev/zero | tr '\0' x)" "$bin" --bench "$FILTER" \
        --warm-up-time 0.5 --measurement-time 1 --noplot 2>/dev/null |
        awk -v pad="$pad" '/^[a-z]/ && !/time:/ {row=$1} /time:/ && !/%/ {print row, pad, $4, $5}'
done >"$out"
for row in $(cut -d' ' -f1 "$out" | sort -u); do
    times=$(awk -v r="$row" '$1 == r {print $3}' "$out")
    unit=$(awk -v r="$row" '$1 == r {print $4; exit}' "$out")
    n=$(echo "$times" | wc -l)
    median=$(echo "$times" | sort -g | sed -n "$(((n + 1) / 2))p")
    printf '%-50s median %s %s   (by padding: %s)\n' "$row" "$median" "$unit" "$(echo $times)"
done
rm -f "$out"
