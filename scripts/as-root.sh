# Sourced by the scripts that need root (network namespaces, apt): as root they run as they are
# (a fresh Debian machine has no sudo); otherwise they run again through sudo, keeping PATH so
# that the same node is used, or say that they need root. Usage: as_root <name> "$0" "$@"
as_root() {
  local name="$1"
  shift
  [ "$(id -u)" -eq 0 ] && return 0
  if command -v sudo >/dev/null; then
    echo "$name: not root: running through sudo" >&2
    exec sudo -- env "PATH=$PATH" bash "$@"
  fi
  echo "$name: needs root (network namespaces, apt) and sudo is not installed: run it as root (su -)" >&2
  exit 1
}
