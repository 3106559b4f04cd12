# Shell helpers for the EPP tests (tests/integration/epp*.sh): certificates
# made at run time (never committed), the test registry
# (tests/tools/eppserver) and a cdscan configuration for it. Source after
# tests/lib.sh; set BUILD (the build dir with tests/tools/eppserver).
#
#   epp_certs DIR            CA, server (IP 127.0.0.1, DNS epp.test),
#                            client, and a server certificate for another
#                            name (wrong.test) and a client one from
#                            another CA, all under DIR
#   epp_start DIR [ARGS]     start the registry on 127.0.0.1 (a free port,
#                            kept in DIR/port; ARGS: -m key, -H attr, ...);
#                            state, control, log and errors in DIR
#   epp_stop DIR             stop it (SIGTERM, then SIGKILL)
#   epp_config FILE DIR [KEY=VALUE...]
#                            a configuration with sink epp for that server
#                            (database from $PGD when set)
#   epp_errors DIR           the schema failures the server recorded
#   epp_applied DIR DOMAIN   how many updates it carried out for DOMAIN

EPP_USER=registrar-1
EPP_PASSWORD='s3cret-Pa55-w0rd'

epp_certs() {
	local d=$1
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout ca.key -out ca.crt -days 2 \
			-subj "/CN=cdscan test CA" 2>/dev/null || exit 1
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout other-ca.key -out other-ca.crt -days 2 \
			-subj "/CN=another CA" 2>/dev/null || exit 1
		mk() { # NAME SAN CA
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
				-nodes -keyout "$1.key" -out "$1.csr" \
				-subj "/CN=$1" 2>/dev/null &&
			printf 'subjectAltName=%s\n' "$2" >"$1.ext" &&
			openssl x509 -req -in "$1.csr" -CA "$3.crt" \
				-CAkey "$3.key" -CAcreateserial -days 2 \
				-extfile "$1.ext" -out "$1.crt" 2>/dev/null
		}
		mk server "IP:127.0.0.1,DNS:epp.test" ca &&
		mk wrong "DNS:wrong.test" ca &&
		mk client "DNS:registrar.test" ca &&
		mk stranger "DNS:stranger.test" other-ca
	) || { echo "epp_certs: openssl failed" >&2; return 1; }
	chmod 600 "$d"/*.key
}

epp_start() {
	local d=$1 i
	shift
	rm -f "$d/port"
	"$BUILD/tests/tools/eppserver" -d "$d" -x tests/data/epp-xsd/all-epp.xsd \
		-C "$d/ca.crt" -c "${EPP_SERVER_CERT:-$d/server.crt}" \
		-k "${EPP_SERVER_KEY:-$d/server.key}" -u "$EPP_USER" \
		-w "$EPP_PASSWORD" -p "${EPP_PORT:-0}" "$@" 2>>"$d/server.err" &
	echo $! >"$d/pid"
	for i in $(seq 100); do
		[ -s "$d/port" ] && { EPP_PORT=$(cat "$d/port"); return 0; }
		sleep 0.05
	done
	echo "epp_start: the server did not come up: $(cat "$d/server.err")" >&2
	return 1
}

epp_stop() {
	local d=$1 pid i
	[ -f "$d/pid" ] || return 0
	pid=$(cat "$d/pid")
	kill "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$d/pid"
}

epp_config() {
	local f=$1 d=$2 kv k
	shift 2
	printf '%s\n' "$EPP_PASSWORD" >"$d/password"
	chmod 600 "$d/password"
	# defaults first; a KEY=VALUE given replaces the default of KEY
	set -- "server=\"127.0.0.1\"" "port=$EPP_PORT" "ca-file=\"$d/ca.crt\"" \
		"cert=\"$d/client.crt\"" "key=\"$d/client.key\"" \
		"user=\"$EPP_USER\"" "password-file=\"$d/password\"" \
		"timeout=5s" "max-commands-per-minute=0" "retry=0" "$@"
	{
		[ -n "${PGD:-}" ] &&
			echo "database: \"host=$PGD dbname=cdscan user=postgres\""
		echo "sink: epp"
		echo "epp:"
		for kv in "$@"; do
			echo "${kv%%=*}=${kv#*=}"
		done | awk -F= '{ k = $1; sub(/^[^=]*=/, "")
			if (!(k in v)) o[++n] = k; v[k] = $0 }
			END { for (i = 1; i <= n; i++) print "  " o[i] ": " v[o[i]] }'
	} >"$f"
}

epp_errors() {
	cat "$1/errors" 2>/dev/null
}

epp_applied() {
	grep -c "^update $2 1000 applied" "$1/log" 2>/dev/null
}
