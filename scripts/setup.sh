#!/usr/bin/env bash
# Installs what flannel-ts needs to build, test and run its demo on Debian 12, idempotently:
# Debian packages (only those missing), npm packages from the lock file, and the build.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (network namespaces and apt need it)" >&2
  exit 1
fi

packages=(etcd-server etcd-client iproute2 iptables nftables containernetworking-plugins iputils-ping iperf3 tcpdump openssl curl wireguard-go wireguard-tools strongswan-charon strongswan-swanctl libstrongswan-standard-plugins)
# The TUN addon's toolchain and headers (nodejs is Debian's: only its /usr/include/node is used).
packages+=(gcc make libc6-dev)
[ -f /usr/include/node/node_api.h ] || packages+=(nodejs)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's etcd package may start a system etcd; flannel-ts tests run their own.
command -v etcd >/dev/null || { echo "setup: etcd not found after install" >&2; exit 1; }

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: Node.js 20 or later is required" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "setup: building"
npm run --silent build
# Our addons (the udp backend's TUN addon, the pages addon): C against Node-API, with Debian's compiler and the Node.js headers
# already on the machine (/usr/include/node, from Debian's nodejs package): no download.
echo "setup: building native/ (the TUN and pages addons)"
make -s -C native
