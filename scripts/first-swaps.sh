#!/usr/bin/env bash
# First swaps of fresh, empty 1 GiB volumes through the built CLI, as a new user makes them:
# a fresh world per run, a freshly booted server, two new volumes, one attached, then
# `nova volume-update` to the other as the admin of the demo project. Counts the failures
# (Mitaka's premature pivot shows as "not ready for pivot yet"). npm run build first.
#   scripts/first-swaps.sh [RUNS]     (default 10)
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
NOVA="node bin/nova.cjs"
SIM="node bin/nova-sim.cjs"
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
export OS_USERNAME=admin OS_PROJECT_NAME=demo
fails=0
for i in $(seq 1 "$RUNS"); do
  export NOVASIM_STATE="$DIR/w$i/state.json"
  mkdir -p "$DIR/w$i"
  $SIM init >/dev/null
  $NOVA boot --flavor m1.tiny --image cirros-0.3.4-x86_64-uec "srv$i" >/dev/null
  $NOVA volume-create --display-name "a$i" 1 >/dev/null 2>&1
  $NOVA volume-create --display-name "b$i" 1 >/dev/null 2>&1
  $NOVA volume-attach "srv$i" "a$i" >/dev/null 2>&1
  out=$($NOVA volume-update "srv$i" "a$i" "b$i" 2>&1); rc=$?
  if [ $rc -ne 0 ]; then fails=$((fails + 1)); echo "run $i: $(echo "$out" | grep '^ERROR' | head -1)"; fi
  rm -rf "$DIR/w$i"
done
echo "first swaps: $fails of $RUNS failed"
