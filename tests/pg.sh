# A throwaway PostgreSQL cluster for tests, benchmarks and the demo.
# Source it, then:
#   pg_start DIR   initdb (trust, no fsync) and start, socket in DIR;
#                  exports PGHOST=DIR PGDATABASE=cdscan PGUSER=postgres;
#                  PG_OPTS, if set, are more server options ("-c k=v ...")
#   pg_stop DIR    stop immediately (the folder stays; remove it yourself)
#   pg_kill DIR    SIGKILL the postmaster, for fault tests
# Needs root (initdb runs as the postgres user) and the postgresql package.

pg_bindir() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

pg_start() {
	_d=$1
	_bin=$(pg_bindir)
	[ -n "$_bin" ] || { echo "pg_start: PostgreSQL is not installed" >&2; return 1; }
	mkdir -p "$_d"
	chown postgres: "$_d"
	if [ ! -f "$_d/data/PG_VERSION" ]; then
		runuser -u postgres -- "$_bin/initdb" -D "$_d/data" -A trust \
			--no-sync -E UTF8 --locale=C.UTF-8 >"$_d/initdb.log" 2>&1 ||
			{ cat "$_d/initdb.log" >&2; return 1; }
	fi
	runuser -u postgres -- "$_bin/pg_ctl" -D "$_d/data" -l "$_d/pg.log" -w \
		-o "-k $_d -c listen_addresses='' -c fsync=off ${PG_OPTS:-}" \
		start >/dev/null || { cat "$_d/pg.log" >&2; return 1; }
	export PGHOST="$_d" PGUSER=postgres PGDATABASE=cdscan
	if ! psql -d postgres -Atqc "select 1 from pg_database where datname='cdscan'" | grep -q 1; then
		createdb cdscan || return 1
	fi
}

pg_stop() {
	_bin=$(pg_bindir)
	[ -f "$1/data/postmaster.pid" ] || return 0
	runuser -u postgres -- "$_bin/pg_ctl" -D "$1/data" -m immediate -w stop >/dev/null 2>&1
}

pg_kill() {
	[ -f "$1/data/postmaster.pid" ] || return 0
	kill -9 "$(head -n 1 "$1/data/postmaster.pid")" 2>/dev/null
	sleep 0.2
	rm -f "$1/data/postmaster.pid"
}
