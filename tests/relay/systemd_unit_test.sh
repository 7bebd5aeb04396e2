#!/usr/bin/env bash
# deploy/mugai-relay.service: systemd accepts every line (a misspelt hardening key is only a
# warning to systemd, so any output fails here), the hardening this project promises is there,
# and its ExecStart is a command line that `mugai` accepts.
# Usage: systemd_unit_test.sh MUGAI_BINARY SOURCE_DIR
set -uo pipefail
MUGAI=$(realpath "$1")
UNIT=$2/deploy/mugai-relay.service
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# verify checks that ExecStart's binary exists: point it at the one under test.
sed "s|/usr/local/bin/mugai|$MUGAI|" "$UNIT" >"$work/mugai-relay.service"
out=$(systemd-analyze verify "$work/mugai-relay.service" 2>&1)
rc=$?
[ "$rc" -eq 0 ] && [ -z "$out" ] || fail "systemd-analyze verify (exit $rc): $out"

for line in "NoNewPrivileges=yes" "ProtectSystem=strict" "ReadWritePaths=/var/spool/mugai" \
    "PrivateTmp=yes" "ProtectHome=yes" "PrivateDevices=yes" \
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" \
    "User=mugai" "ExecReload=/bin/kill -HUP \$MAINPID" "KillSignal=SIGTERM" \
    "SystemCallFilter=@system-service" "MemoryDenyWriteExecute=yes"; do
  grep -qxF -- "$line" "$UNIT" || fail "the unit lacks '$line'"
done

# ExecStart's options must be ones `mugai relay` knows: run them against a config that is
# complete but listens on a port that cannot be bound (a flag error exits 2, a bind error 1).
exec_start=$(sed -n 's/^ExecStart=[^ ]* //p' "$UNIT")
printf 'relay.accept_domains = example.jp\nrelay.listen = 192.0.2.1:1\nrelay.spool = %s\n' \
  "$work/spool" >"$work/mugai.conf"
# shellcheck disable=SC2086  # the unit's words, split as systemd splits them
set -- $exec_start
args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--config" ]; then args+=(--config "$work/mugai.conf"); shift 2; continue; fi
  args+=("$1"); shift
done
timeout 60 "$MUGAI" "${args[@]}" >/dev/null 2>"$work/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "cannot start" "$work/err" ||
  fail "ExecStart '$exec_start' (exit $rc, expected 1 for the unbindable port): $(cat "$work/err")"

[ "$fails" -eq 0 ] && echo "systemd unit: ok"
[ "$fails" -eq 0 ]
