#!/usr/bin/env bash
# Relay efficiency, Gatehouse's TURN relay against coturn, on this machine:
# packets relayed per CPU-second of the relay process, both driven by the
# same turnutils_uclient load (same sessions, message size and rate) against
# the same turnutils_peer, everything on 127.0.0.1.
#
#   scripts/bench-turn.sh            # defaults below
#   SESSIONS=100 MESSAGES=3000 INTERVAL_MS=5 SIZE=172 scripts/bench-turn.sh
#
# Needs coturn (turnserver, turnutils_uclient, turnutils_peer; Debian package
# coturn) and Go. coturn runs with --allow-loopback-peers for this
# benchmark only. Each run is bounded by RUN_TIMEOUT seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

SESSIONS=${SESSIONS:-50}        # concurrent uclient sessions (-m)
MESSAGES=${MESSAGES:-2000}      # messages per session (-n)
INTERVAL_MS=${INTERVAL_MS:-5}   # per-session send interval (-z)
SIZE=${SIZE:-172}               # message size in bytes (-l): an Opus/VP8-sized RTP packet
RUN_TIMEOUT=${RUN_TIMEOUT:-90}
SECRET=bench-turn-shared-secret-0123456789
REALM=gatehouse
MIN_PORT=${MIN_PORT:-40000}
MAX_PORT=${MAX_PORT:-44999}

for tool in turnserver turnutils_uclient turnutils_peer go openssl; do
	command -v "$tool" >/dev/null || { echo "bench-turn: $tool not found (apt-get install coturn)" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# cpu_ticks PID: user and system clock ticks of a process so far.
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# wait_ready FILE: until the relay has printed its ready line there.
wait_ready() {
	for _ in $(seq 50); do
		if grep -q . "$1" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	return 1
}

peer_port=$(free_port)
turnutils_peer -L 127.0.0.1 -p "$peer_port" >/dev/null 2>&1 &
pids+=($!)

# REST credential valid for five minutes (both relays accept it).
user="$(( $(date +%s) + 300 )):bench"
pass=$(printf %s "$user" | openssl dgst -sha1 -hmac "$SECRET" -binary | base64)

# run NAME PID PORT: drive the relay at PORT (process PID) and print
# "NAME packets cpu_seconds packets_per_cpu_second lost user_s sys_s".
run() {
	local name=$1 pid=$2 port=$3
	local before after out sent recv lost
	before=$(cpu_ticks "$pid")
	out=$(timeout "$RUN_TIMEOUT" turnutils_uclient -c -e 127.0.0.1 -r "$peer_port" -u "$user" -w "$pass" \
		-m "$SESSIONS" -n "$MESSAGES" -l "$SIZE" -z "$INTERVAL_MS" -p "$port" 127.0.0.1 2>&1) || true
	after=$(cpu_ticks "$pid")
	sent=$(grep -o 'tot_send_msgs=[0-9]*' <<<"$out" | tail -1 | cut -d= -f2)
	recv=$(grep -o 'tot_recv_msgs=[0-9]*' <<<"$out" | tail -1 | cut -d= -f2)
	lost=$(grep -o 'Total lost packets [0-9]*' <<<"$out" | awk '{print $4}')
	if [ -z "$sent" ] || [ -z "$recv" ]; then
		echo "bench-turn: $name: no totals from turnutils_uclient:" >&2
		tail -20 <<<"$out" >&2
		exit 1
	fi
	# Each message crosses the relay twice: client to peer, and the echo back.
	awk -v n="$name" -v s="$sent" -v r="$recv" -v b="$before" -v a="$after" -v hz="$hz" -v l="${lost:-?}" \
		'BEGIN { split(b, x, " "); split(a, y, " "); u = (y[1] - x[1]) / hz; k = (y[2] - x[2]) / hz; c = u + k
		         printf "%s %d %.2f %.0f %s %.2f %.2f\n", n, s + r, c, (c > 0 ? (s + r) / c : 0), l, u, k }'
}

# Ours: the turn package in a process of its own.
go build -o "$work/benchrelay" ./turn/internal/benchrelay
ours_port=$(free_port)
"$work/benchrelay" -listen 127.0.0.1 -port "$ours_port" -min-port "$MIN_PORT" -max-port "$MAX_PORT" \
	-secret "$SECRET" -realm "$REALM" >"$work/ours.out" 2>"$work/ours.err" &
ours_pid=$!
pids+=("$ours_pid")
wait_ready "$work/ours.out" || { echo "bench-turn: our relay did not start" >&2; cat "$work/ours.err" >&2; exit 1; }

# coturn, same port range, loopback peers allowed for this benchmark only.
coturn_port=$(free_port)
turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$coturn_port" \
	--min-port="$MIN_PORT" --max-port="$MAX_PORT" --use-auth-secret --static-auth-secret="$SECRET" \
	--realm="$REALM" --allow-loopback-peers --no-cli --no-tls --no-dtls --no-tcp-relay \
	--log-file=stdout --simple-log --no-software-attribute >"$work/coturn.out" 2>&1 &
coturn_pid=$!
pids+=("$coturn_pid")
for _ in $(seq 50); do grep -q "Total General servers" "$work/coturn.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.5

echo "load: $SESSIONS sessions x $MESSAGES messages of $SIZE bytes every $INTERVAL_MS ms, echoed by turnutils_peer"
ours=$(run gatehouse "$ours_pid" "$ours_port")
coturn=$(run coturn "$coturn_pid" "$coturn_port")
printf '%-10s %10s %8s %14s %6s %7s %7s\n' relay packets cpu_s packets/cpu_s lost user_s sys_s
printf '%-10s %10s %8s %14s %6s %7s %7s\n' $ours
printf '%-10s %10s %8s %14s %6s %7s %7s\n' $coturn
awk -v a="$(cut -d' ' -f4 <<<"$ours")" -v b="$(cut -d' ' -f4 <<<"$coturn")" \
	'BEGIN { if (b > 0) printf "ratio gatehouse/coturn: %.2f\n", a / b }'
