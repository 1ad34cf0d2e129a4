#!/usr/bin/env bash
# The reliability suite: a publisher and a subscriber with persistent sessions through a seeded
# fault proxy (aborts, clean closes, stalls of 0.1-5 s, half-open links) to a real mosquitto,
# on the blocking and the async client, MQTT 3.1.1 and 5.0. Ends with one line per run:
#   chaos <transport> v<version> qos<q>: messages N faults F lost 0 duplicated 0 reordered R seconds S
#
#   ./scripts/chaos.sh            long: 100,000 QoS 1 + 100,000 QoS 2 messages per run, a fault
#                                 every 200 ms on average, mosquitto SIGKILLed and restarted on
#                                 its persistence file mid-run (about half an hour)
#   ./scripts/chaos.sh --quick    short and seeded (>= 100 faults per run, under a minute; the
#                                 test command runs the same as reliability/tests/chaos_quick.rs)
#   ./scripts/chaos.sh --seed N   another seed (on failure: the faults with their times, the
#                                 first lost message numbers with when they were published, and
#                                 when the broker was killed; CHAOS_KEEP_LOGS=dir keeps its log)
#   ./scripts/chaos.sh --only std-v3   one run of the four (std|smol, v3|v5), same seed as in the set
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run -q --release -p reliability --bin chaos -- "$@"
