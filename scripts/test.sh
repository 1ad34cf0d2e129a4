#!/usr/bin/env bash
# The whole test set-up on a fresh machine: installs what the tests need (the Debian
# `mosquitto` broker, started per test by the harness; rumqttd, the Rust broker, for MQTT over
# WebSocket, which mosquitto's Debian build cannot serve), then runs every test of the workspace.
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
    if command -v apt-get >/dev/null 2>&1; then
        echo "Installing mosquitto (Debian/Ubuntu package) for the broker tests..."
        SUDO=""
        if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mosquitto >/dev/null
        # The tests start their own brokers; the packaged service is not needed.
        $SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true
    else
        echo "error: the tests need the mosquitto broker (https://mosquitto.org/download/)." >&2
        echo "Install it with your package manager, then run this script again." >&2
        exit 1
    fi
fi

# rumqttd 0.20's lock file pins a `metrics` release that no longer builds with current Rust:
# installed without --locked (about 4 minutes on 2 cores, once per machine), with client
# certificate verification for the wss:// client-certificate test.
RUMQTTD_VERSION=0.20.0
CRATES2="${CARGO_HOME:-$HOME/.cargo}/.crates2.json"
if ! grep -q "\"rumqttd $RUMQTTD_VERSION [^}]*verify-client-cert" "$CRATES2" 2>/dev/null; then
    echo "Installing rumqttd $RUMQTTD_VERSION for the WebSocket tests..."
    cargo install -q rumqttd --version "$RUMQTTD_VERSION" --features verify-client-cert --force
fi

cargo test --workspace "$@"
