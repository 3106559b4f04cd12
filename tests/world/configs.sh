# Daemon configurations of the test world (sourced by build after the
# zones exist under $W/srv/INSTANCE/zones/). Every daemon keeps its
# config, pid file, log and state under $W/srv/INSTANCE, runs as the
# invoking user (no chroot, no privilege drop) and binds explicit
# addresses only: NSD on 0.0.0.0 answers from 127.0.0.1 (ARCHITECTURE.md).
# UDP answers are capped at 1232 octets so that large answers come with
# TC=1 and need TCP, as on the Internet since DNS Flag Day 2020.

_zone_name() {
	local f=${1##*/}
	f=${f%.zone}
	[ "$f" = root ] && echo . || echo "$f."
}

_nsd_conf() {
	local inst=$1 d=$W/srv/$1 f a
	mkdir -p "$d/zones"
	{
		echo "server:"
		for a in $(world_addr "$inst") $([ "$inst" = op3 ] && world_addr v6); do
			echo "	ip-address: $a"
		done
		cat <<-EOF
			port: 53
			username: ""
			chroot: ""
			zonesdir: "$d"
			database: ""
			pidfile: "$d/nsd.pid"
			logfile: "$d/nsd.log"
			xfrdfile: "$d/xfrd.state"
			xfrdir: "$d"
			zonelistfile: "$d/zone.list"
			server-count: 1
			verbosity: 1
			ipv4-edns-size: 1232
			ipv6-edns-size: 1232
			tcp-count: 200
			refuse-any: yes
			# no response rate limiting: every test query from 127.0.0.1
			# would share one bucket
			rrl-ratelimit: 0
		remote-control:
			control-enable: no
		EOF
		for f in "$d"/zones/*.zone; do
			[ -e "$f" ] || continue
			printf 'zone:\n\tname: "%s"\n\tzonefile: "%s"\n' "$(_zone_name "$f")" "$f"
		done
	} >"$d/nsd.conf"
}

_knot_conf() {
	local inst=$1 d=$W/srv/$1 f
	mkdir -p "$d/zones" "$d/db"
	{
		cat <<-EOF
		server:
		    rundir: "$d"
		    pidfile: "$d/knot.pid"
		    listen: $(world_addr "$inst")@53
		    udp-max-payload: 1232
		log:
		  - target: "$d/knot.log"
		    any: info
		database:
		    storage: "$d/db"
		template:
		  - id: default
		    storage: "$d/zones"
		    zonefile-sync: -1
		    zonefile-load: whole
		    journal-content: none
		    semantic-checks: off
		zone:
		EOF
		for f in "$d"/zones/*.zone; do
			[ -e "$f" ] || continue
			printf '  - domain: "%s"\n    file: "%s"\n' "$(_zone_name "$f")" "$f"
		done
	} >"$d/knot.conf"
}

_unbound_conf() {
	local d=$W/srv/resolver
	mkdir -p "$d"
	cat >"$d/unbound.conf" <<-EOF
	server:
	    interface: $WORLD_RESOLVER
	    port: 53
	    do-ip4: yes
	    do-ip6: yes
	    do-udp: yes
	    do-tcp: yes
	    chroot: ""
	    username: ""
	    directory: "$d"
	    pidfile: "$d/unbound.pid"
	    logfile: "$d/unbound.log"
	    use-syslog: no
	    verbosity: 1
	    num-threads: 1
	    access-control: 127.0.0.0/8 allow
	    root-hints: "$W/root.hints"
	    trust-anchor-file: "$W/root.key"
	    module-config: "validator iterator"
	    val-permissive-mode: no
	    do-not-query-localhost: no
	    local-zone: "test." nodefault
	    cache-max-ttl: 5
	    cache-max-negative-ttl: 5
	    infra-host-ttl: 5
	    val-bogus-ttl: 1
	    prefetch: no
	    edns-buffer-size: 1232
	    # nothing of the real Internet is reachable or wanted here
	    harden-referral-path: no
	remote-control:
	    control-enable: no
	EOF
}

_cdscan_yaml() {
	cat >"$W/cdscan.yaml" <<-EOF
	# cdscan configuration for the test world in $W
	resolver:
	  servers: [$WORLD_RESOLVER]
	  trust-anchors: "$W/root.key"
	scanner:
	  timeout: 400ms
	  retries: 1
	EOF
}

world_configs() {
	local i
	for i in $WORLD_NSD_INSTANCES; do
		_nsd_conf "$i"
	done
	for i in $WORLD_KNOT_INSTANCES; do
		_knot_conf "$i"
	done
	_unbound_conf
	_cdscan_yaml
}
