#!/usr/bin/env bash
# Installs whatever Gossamer needs that is missing on a Debian/Ubuntu machine, and says what it does:
#   - Debian packages: chromium (ships SwiftShader, the CPU Vulkan driver used when there is no GPU;
#     also the headless browser of test/browser, driven by puppeteer-core, which downloads none),
#     libvulkan1 (the Vulkan loader Dawn uses), nats-server (the embedded NATS for local runs/tests),
#     fonts-dejavu-core (text in the PNG copies of plots), iproute2 and curl (the host test bed:
#     network namespaces, and each NATS node's monitoring port read from inside its namespace);
#   - npm dependencies (npm ci) when node_modules is missing or older than package-lock.json.
# Safe to run again: it does nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

need=()
for pkg in chromium libvulkan1 nats-server fonts-dejavu-core iproute2 curl; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then need+=("$pkg"); fi
done
if [ ${#need[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    say "missing system packages: ${need[*]} (no apt-get here: install them with your package manager)"
    exit 1
  fi
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo_cmd=(sudo); else
      say "missing system packages: ${need[*]}; run as root: apt-get update && apt-get install -y ${need[*]}"
      exit 1
    fi
  fi
  say "installing Debian packages: ${need[*]} (a few minutes the first time)"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  say "installed ${need[*]}"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
