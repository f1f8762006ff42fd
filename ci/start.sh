#!/usr/bin/env bash
# Builds the modules (release) and starts Kamailio with them, on an embedded SQLite database,
# serving presence (SIP) and XCAP (HTTP) on 127.0.0.1. State lives in ./run (log, database,
# pid, RPC socket); ./run-6.0 with KAMAILIO_TARGET=6.0, which starts Debian 13's Kamailio 6.0.1
# from the root of ci/kamailio-root.sh instead of this machine's 5.6.3.
# Environment: KAMAILIO_TARGET (5.6 or 6.0), SIP_PORT (default 5060), HTTP_PORT (default 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
# shellcheck source=ci/target-env.sh
source ci/target-env.sh
run="$top/run"
[ "$KAMAILIO_TARGET" = 5.6 ] || run="$top/run-$KAMAILIO_TARGET"
sip_port=${SIP_PORT:-5060}
http_port=${HTTP_PORT:-8080}

cargo build --release --workspace --exclude kamtest

# Stop what an earlier start left running.
if [ -f "$run/kamailio.pid" ] && kill -0 "$(cat "$run/kamailio.pid")" 2>/dev/null; then
    kill "$(cat "$run/kamailio.pid")"
    for _ in $(seq 50); do kill -0 "$(cat "$run/kamailio.pid")" 2>/dev/null || break; sleep 0.1; done
fi
mkdir -p "$run/modules"
for m in presence_xcapdiff xcap_server xcap_client presence_xml pua; do
    install -m 0644 "${CARGO_TARGET_DIR:-target}/release/lib$m.so" "$run/modules/$m.so"
done
if [ ! -f "$run/kamailio.db" ]; then
    sqlite3 "$run/kamailio.db" < "$kamailio_sysroot/usr/share/kamailio/db_sqlite/standard-create.sql"
    sqlite3 "$run/kamailio.db" < "$kamailio_sysroot/usr/share/kamailio/db_sqlite/presence-create.sql"
fi
sed -e "s#@SIP_PORT@#$sip_port#g; s#@HTTP_PORT@#$http_port#g; s#@MODDIR@#$run/modules#g; s#@CTL@#$run/kamailio_ctl#g" \
    -e "s#@DB_URL@#sqlite:///$run/kamailio.db#g" test-configs/kamailio.cfg > "$run/kamailio.cfg"
"$KAMAILIO_BIN" -f "$run/kamailio.cfg" -P "$run/kamailio.pid" -w "$run" -Y "$run" -E >"$run/kamailio.log" 2>&1
for _ in $(seq 50); do
    kamcmd -s "unix:$run/kamailio_ctl" core.uptime >/dev/null 2>&1 && break
    sleep 0.1
done
if ! kamcmd -s "unix:$run/kamailio_ctl" core.uptime >/dev/null 2>&1; then
    echo "start.sh: Kamailio did not start; see $run/kamailio.log" >&2
    tail -n 20 "$run/kamailio.log" >&2
    exit 1
fi
echo "Kamailio $KAMAILIO_TARGET ($(cat "$run/kamailio.pid")) serves presence on sip:127.0.0.1:$sip_port and XCAP on http://127.0.0.1:$http_port/xcap-root/"
echo "  log: $run/kamailio.log   RPC: kamcmd -s unix:$run/kamailio_ctl   stop: kill \$(cat $run/kamailio.pid)"
