#!/usr/bin/env bash
# with-services.sh CMD [ARGS...]
#
# Runs CMD with throwaway backing services on loopback, and removes them
# when CMD ends (whatever the way it ends):
#
#   PostgreSQL 15+  a fresh cluster in a temporary directory (trust auth,
#                   fsync off), exported as GATEHOUSE_TEST_DATABASE_URL.
#                   Tests create their own database on it, one per test.
#
# A service whose variable is already set is not started: the caller's
# server is used instead (for example a CI service container).
#
# CMD's exit status is the script's. Example:
#   ./scripts/with-services.sh go test -count=1 ./booking/...
set -euo pipefail

if (($# == 0)); then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

log() { echo "with-services: $*" >&2; }

# as_root runs a command as root, through sudo when needed.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# cleanups run in reverse order of registration on exit.
cleanups=()
on_exit() {
	local i
	for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do
		eval "${cleanups[i]}" || true
	done
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# When our output goes to a pipe whose reader is gone (say `| grep` after
# Ctrl-C), a write must fail rather than kill us before the cleanup runs.
trap '' PIPE

# free_port prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	local port
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	log "no free port found"
	return 1
}

# ---------------------------------------------------------------- PostgreSQL

# pg_bindir prints the directory of a PostgreSQL 15+ pg_ctl, or fails.
pg_bindir() {
	local c v
	for c in $(command -v pg_ctl 2>/dev/null) $(ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V -r); do
		[ -x "$c" ] || continue
		v=$("$c" --version 2>/dev/null | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')
		if [ -n "$v" ] && [ "$v" -ge 15 ] 2>/dev/null; then
			dirname "$(readlink -f "$c")"
			return 0
		fi
	done
	return 1
}

start_postgres() {
	if [ -n "${GATEHOUSE_TEST_DATABASE_URL:-}" ]; then
		log "using the PostgreSQL server already given in GATEHOUSE_TEST_DATABASE_URL"
		return 0
	fi
	local bin
	if ! bin=$(pg_bindir); then
		log "installing PostgreSQL (pg_ctl 15+ not found)"
		as_root apt-get update -qq
		DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends postgresql >/dev/null
		bin=$(pg_bindir) || { log "PostgreSQL 15+ is still missing after apt-get install"; return 1; }
	fi

	# PostgreSQL refuses to run as root: as root, run it as user postgres.
	local -a as_pg=()
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
		as_pg=(runuser -u postgres --)
	fi

	local dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-pg.XXXXXX")
	cleanups+=("rm -rf '$dir'")
	[ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
	chmod 700 "$dir"

	"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; return 1; }

	local port tries=0
	while :; do
		port=$(free_port)
		# -k: the socket goes in our directory, not /var/run/postgresql.
		if "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 -o \
			"-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
			start >/dev/null; then
			break
		fi
		tries=$((tries + 1))
		if ((tries >= 3)); then
			log "PostgreSQL did not start; its log:"
			cat "$dir/log" >&2 || true
			return 1
		fi
		log "PostgreSQL did not start on port $port, trying another"
	done
	cleanups+=("${as_pg[*]} '$bin/pg_ctl' -D '$dir/data' -m immediate -w stop >/dev/null 2>&1")

	# pg_ctl -w returns once the server accepts connections; check it.
	local ok=""
	for _ in $(seq 1 50); do
		if "${as_pg[@]}" "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
			ok=1
			break
		fi
		sleep 0.1
	done
	[ -n "$ok" ] || { log "PostgreSQL is not ready on port $port"; cat "$dir/log" >&2; return 1; }

	export GATEHOUSE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	log "PostgreSQL $("$bin/pg_ctl" --version | grep -oE "[0-9]+(\.[0-9]+)+" | head -1) on 127.0.0.1:$port"
}

# --------------------------------------------------------------------- Redis
# Hook for the cross-node room registry (a later issue): write start_redis
# like start_postgres (skip when GATEHOUSE_TEST_REDIS_URL is set; otherwise
# install redis-server if missing, run it on 127.0.0.1:$(free_port) with
# --save '' --appendonly no, register its shutdown in cleanups, and export
# GATEHOUSE_TEST_REDIS_URL), then add it to services below.

services=(start_postgres)

for s in "${services[@]}"; do
	"$s"
done

# Not exec: the EXIT trap must still run to stop the services.
set +e
"$@"
status=$?
set -e
exit "$status"
