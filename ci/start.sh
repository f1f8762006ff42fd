#!/usr/bin/env bash
# Builds the modules (release) and starts Kamailio with them, on an embedded SQLite database,
# serving presence (SIP) and XCAP (HTTP) on 127.0.0.1. State lives in ./run (log, database,
# pid, RPC socket). Environment: SIP_PORT (default 5060), HTTP_PORT (default 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
run="$top/run"
sip_port=${SIP_PORT:-5060}
http_port=${HTTP_PORT:-8080}

KAMAILIO_SRC=$(bash ci/install.sh | tail -n 1)
export KAMAILIO_SRC
cargo build --release --workspace --exclude kamtest

# Stop what an earlier start left running.
if [ -f "$run/kamailio.pid" ] && kill -0 "$(cat "$run/kamailio.pid")" 2>/dev/null; then
    kill "$(cat "$run/kamailio.pid")"
    for _ in $(seq 50); do kill -0 "$(cat "$run/kamailio.pid")" 2>/dev/null || break; sleep 0.1; done
fi
mkdir -p "$run/modules"
for m in presence_xcapdiff xcap_server xcap_client presence_xml pua; do
    install -m 0644 "target/release/lib$m.so" "$run/modules/$m.so"
done
if [ ! -f "$run/kamailio.db" ]; then
    sqlite3 "$run/kamailio.db" < /usr/share/kamailio/db_sqlite/standard-create.sql
    sqlite3 "$run/kamailio.db" < /usr/share/kamailio/db_sqlite/presence-create.sql
fi
sed -e "s#@SIP_PORT@#$sip_port#g; s#@HTTP_PORT@#$http_port#g; s#@MODDIR@#$run/modules#g; s#@CTL@#$run/kamailio_ctl#g" \
    -e "s#@DB_URL@#sqlite:///$run/kamailio.db#g" test-configs/kamailio.cfg > "$run/kamailio.cfg"
kamailio -f "$run/kamailio.cfg" -P "$run/kamailio.pid" -w "$run" -Y "$run" -E >"$run/kamailio.log" 2>&1
for _ in $(seq 50); do
    kamcmd -s "unix:$run/kamailio_ctl" core.uptime >/dev/null 2>&1 && break
    sleep 0.1
done
if ! kamcmd -s "unix:$run/kamailio_ctl" core.uptime >/dev/null 2>&1; then
    echo "start.sh: Kamailio did not start; see $run/kamailio.log" >&2
    tail -n 20 "$run/kamailio.log" >&2
    exit 1
fi
echo "Kamailio $(cat "$run/kamailio.pid") serves presence on sip:127.0.0.1:$sip_port and XCAP on http://127.0.0.1:$http_port/xcap-root/"
echo "  log: $run/kamailio.log   RPC: kamcmd -s unix:$run/kamailio_ctl   stop: kill \$(cat $run/kamailio.pid)"
