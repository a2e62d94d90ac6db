#!/usr/bin/env bash
# Installs the load generator the benchmark prefers: wrk, from Debian's packages.
# bench.run calls this itself when it runs as root and wrk is missing.
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then
    echo "wrk is installed: $(command -v wrk)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
echo "wrk is installed: $(command -v wrk)"
