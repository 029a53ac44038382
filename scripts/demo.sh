#!/usr/bin/env bash
# The local demo: a real etcd, three network-namespace hosts running flanneld, and two pods per
# host attached through the flannel CNI plugin, with a cross-host ping matrix.
#   ./scripts/demo.sh [up] [--backend=TYPE] [--detach]   set up, bring up, Ctrl-C tears down
#   ./scripts/demo.sh down                                tear down a detached demo
set -euo pipefail
# Needs root: runs itself again through sudo when not root (scripts/as-root.sh).
. "$(dirname "$0")/as-root.sh"
as_root demo "$0" "$@"
cd "$(dirname "$0")/.."

cmd="${1:-up}"
case "$cmd" in
  down)
    [ -f dist/demo/demo.js ] || { echo "demo: not built, so no demo can be running" >&2; exit 0; }
    exec node dist/demo/demo.js down
    ;;
  up)
    shift || true
    ;;
  -*)
    # options without a command mean "up"
    ;;
  *)
    echo "usage: $0 [up] [--backend=TYPE] [--detach] | down" >&2
    exit 2
    ;;
esac

bash scripts/setup.sh
exec node dist/demo/demo.js up "$@"
