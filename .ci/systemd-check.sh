#!/usr/bin/env bash
# Checks systemd/fer-edge.service: `systemd-analyze verify` must pass and
# `systemd-analyze security --offline=yes` must rate its exposure at MAX (default 2.0) or lower.
# verify fails on any message, warnings included (an unknown key or value is a real bug).
# Usage: .ci/systemd-check.sh [MAX [UNIT_TEMPLATE [DROPIN]]]
#   DROPIN: a drop-in's [Service] lines are applied to the unit (as systemd would merge them).
set -euo pipefail
UNIT=$(realpath "${2:-$(dirname "$0")/../systemd/fer-edge.service}")
DROPIN=${3:+$(realpath "$3")}
cd "$(dirname "$0")/.."
MAX=${1:-2.0}

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-check: systemd-analyze not found (apt-get install systemd)" >&2
  exit 2
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Render the unit as the installer does, with an ExecStart that exists on this machine.
PY=$(command -v python3)
sed "s#@FER_EDGE@#$PY -m fer_edge.cli#" "$UNIT" >"$WORK/fer-edge.service"
if [ -n "$DROPIN" ]; then
  # The drop-in's settings go at the end of [Service], where they override or extend the unit's.
  grep -v '^\(#\|\[Service\]\|$\)' "$DROPIN" >"$WORK/dropin"
  sed -i "/^\[Install\]/e cat $WORK/dropin" "$WORK/fer-edge.service"
fi
if grep -q '@[A-Z_]*@' "$WORK/fer-edge.service"; then
  echo "systemd-check: unrendered placeholder left in the unit" >&2
  exit 1
fi

VERIFY=$(cd "$WORK" && systemd-analyze verify ./fer-edge.service 2>&1) || {
  echo "$VERIFY" >&2
  echo "systemd-check: verify failed" >&2
  exit 1
}
if [ -n "$VERIFY" ]; then
  echo "$VERIFY" >&2
  echo "systemd-check: verify printed warnings" >&2
  exit 1
fi
echo "systemd-check: verify passed"

REPORT=$(cd "$WORK" && systemd-analyze security --offline=yes --no-pager ./fer-edge.service 2>&1) || {
  echo "$REPORT" >&2
  exit 1
}
LEVEL=$(printf '%s\n' "$REPORT" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$LEVEL" ]; then
  echo "$REPORT" >&2
  echo "systemd-check: no 'Overall exposure level' line in the report" >&2
  exit 1
fi
printf '%s\n' "$REPORT" | grep -v '^✓' || true
if awk -v l="$LEVEL" -v m="$MAX" 'BEGIN { exit !(l > m) }'; then
  echo "systemd-check: exposure $LEVEL is above $MAX" >&2
  exit 1
fi
echo "systemd-check: exposure $LEVEL (limit $MAX)"
