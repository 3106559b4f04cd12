# Live children for the test world (sourced after tests/world/world.sh by
# tests/integration/live_knot.sh): a zone that a Knot DNS instance signs
# by itself, with its own keys and timers, instead of a zone signed once
# by zonesign. The world's other instances do not know these; the world
# directory $W only hosts their state, under $W/srv/INSTANCE/ like the
# others, so that tests/world/stop stops them too.
#
# Instances: live1 (Knot 127.0.10.31) and live2 (Knot 127.0.10.32), the
# two signers of the multi-signer variant (RFC 8901 model 2).
#
#   live_addr INST                 its address
#   live_deleg ZONE "NAME=INST..." the parent's NS and glue lines (glue for
#                                  in-zone NS names; NAME. is absolute)
#   live_zone INST ZONE SERIAL "NAME=INST..."
#                                  write the zone file INST serves: SOA,
#                                  NS, glue, a www record, then any lines
#                                  from stdin (foreign DNSKEY, CDS, ...)
#   live_knot_conf INST "ZONE..." ["ZONE..."]
#                                  write INST's knot.conf (see below): zones
#                                  Knot signs, then zones served as signed
#                                  by live_presign
#   live_presign INST ZONE         sign $W/srv/INST/ZONE.in with the world's
#                                  keys of ZONE (key ZONE ksk|zsk) into the
#                                  zone file INST serves
#   live_knot_start INST / live_knot_stop INST
#   live_knotc INST ARGS... / live_keymgr INST ZONE ARGS...
#   live_keys INST ZONE            Knot's keys, one "TAG ksk|zsk STATE" a line
#   live_ksk_ds INST ZONE [TAG...] SHA-256 DS rdata ("TAG 13 2 HEX") of the
#                                  KSKs given, or of every KSK not removed
#   live_dnskey INST ZONE TAG      the key's DNSKEY record, as a zone line
#   live_cds INST ZONE TAG         the CDS and CDNSKEY records Knot publishes
#                                  for its KSK TAG (TTL 0, as Knot does)
#   live_foreign INST ZONE         what another signer adds to its zone file
#                                  to serve INST's keys: the DNSKEY of each
#                                  of INST's keys in the zone, and the CDS
#                                  and CDNSKEY of its ready or active KSKs
#   live_ad NAME TYPE [nodata]     0 when the world's resolver answers NAME
#                                  TYPE with AD set (NOERROR, an answer;
#                                  with nodata: a proven empty answer)
#   live_wait SECS CMD...          poll CMD every 0.2 s for at most SECS
#
# Knot's timers are seconds, not hours, so that a KSK rollover runs in
# the time of a test. They must still cover what the world caches: the
# resolver keeps nothing longer than 5 s (cache-max-ttl in configs.sh).
# Knot (3.0.8 and later) waits out the TTL of the DS it saw at the parent
# before it retires the old KSK, so the parent must publish its DS with a
# TTL that short too (`cdscan export --ttl 5`), or the rollover takes the
# export's default hour.

LIVE_TTL=3

live_addr() {
	case "$1" in
	live1) echo 127.0.10.31 ;;
	live2) echo 127.0.10.32 ;;
	*) echo "live: unknown instance '$1'" >&2; return 1 ;;
	esac
}

live_deleg() {
	local zone=${1%.} item name inst fq
	for item in $2; do
		name=${item%%=*}
		inst=${item#*=}
		fq=$(_fq "$name" "$zone")
		echo "$zone. IN NS $fq"
		case "$fq" in *".$zone.") echo "$fq IN A $(live_addr "$inst")" ;; esac
	done
}

live_zone() {
	local inst=$1 zone=${2%.} serial=$3 spec=$4 d=$W/srv/$1 first
	mkdir -p "$d"
	first=$(_fq "${spec%%=*}" "$zone")
	{
		echo "\$TTL $LIVE_TTL"
		echo "$zone. IN SOA $first hostmaster.$zone. $serial 60 60 3600 $LIVE_TTL"
		live_deleg "$zone" "$spec"
		echo "www.$zone. IN A 192.0.2.80"
		cat
	} >"$d/$zone.zone.new"
	mv "$d/$zone.zone.new" "$d/$zone.zone"
}

# The policy (KSK + ZSK, algorithm 13):
#  - ksk-lifetime 0: no rollover unless knotc zone-key-rollover asks;
#  - ksk-submission: the parent's server (the world's TLD NSD) is asked
#    for the DS every second; Knot goes on only once it is there;
#  - cds-cdnskey-publish always: CDS/CDNSKEY of the current KSK at all
#    times (the ready one during a rollover), as most signers run;
#  - dnskey-management incremental: DNSKEY, CDS and CDNSKEY records of the
#    zone file that are not Knot's own stay in the zone — how two Knot
#    3.2 signers (no dnskey-sync yet) publish each other's keys and one
#    combined CDS/CDNSKEY set (RFC 8901 §2.1.2, STANDARDS §7 M1).
live_knot_conf() {
	local inst=$1 zones=$2 presigned=${3:-} d=$W/srv/$1 z
	mkdir -p "$d/db"
	{
	cat <<-EOF
	server:
	    rundir: "$d"
	    pidfile: "$d/knot.pid"
	    listen: $(live_addr "$inst")@53
	    udp-max-payload: 1232
	log:
	  - target: "$d/knot.log"
	    any: info
	database:
	    storage: "$d/db"
	remote:
	  - id: parent
	    address: $(world_addr tld)@53
	submission:
	  - id: parent
	    parent: parent
	    check-interval: 1s
	    parent-delay: 1s
	policy:
	  - id: live
	    algorithm: ecdsap256sha256
	    dnskey-ttl: ${LIVE_TTL}s
	    zone-max-ttl: ${LIVE_TTL}s
	    propagation-delay: 1s
	    ksk-lifetime: 0
	    zsk-lifetime: 0
	    ksk-submission: parent
	    cds-cdnskey-publish: always
	    cds-digest-type: sha256
	    dnskey-management: incremental
	    # incremental needs it: a removed key's record must be known
	    # to Knot (and taken out) until it has left the zone for sure
	    delete-delay: 1h
	template:
	  - id: default
	    storage: "$d"
	    zonefile-sync: -1
	    zonefile-load: whole
	    journal-content: none
	    semantic-checks: off
	zone:
	EOF
	for z in $zones; do
		z=${z%.}
		printf '  - domain: %s.\n    file: "%s"\n    dnssec-signing: on\n    dnssec-policy: live\n' \
			"$z" "$d/$z.zone"
	done
	for z in $presigned; do
		z=${z%.}
		printf '  - domain: %s.\n    file: "%s"\n' "$z" "$d/$z.zone"
	done
	} >"$d/knot.conf"
}

live_presign() {
	local inst=$1 zone=${2%.} d=$W/srv/$1
	"$WORLD_TOOLS/zonesign" -t "$WORLD_TTL" -o "$zone." -f "$d/$zone.zone.new" \
		"$d/$zone.in" "$(kp "$zone" ksk)" "$(kp "$zone" zsk)" ||
		{ echo "live: zonesign failed for $zone" >&2; return 1; }
	mv "$d/$zone.zone.new" "$d/$zone.zone"
}

# pid of INST if it runs from this world (as tests/world/stop decides)
_live_pid() {
	local f=$W/srv/$1/knot.pid p
	[ -s "$f" ] || return 1
	p=$(cat "$f")
	kill -0 "$p" 2>/dev/null && grep -qF "$W/srv/" "/proc/$p/cmdline" 2>/dev/null &&
		echo "$p"
}

live_knot_start() {
	local inst=$1 a d=$W/srv/$1
	_live_pid "$inst" >/dev/null && return 0
	a=$(live_addr "$inst") || return 1
	if port_in_use "$a" 53 >/dev/null; then
		echo "live: $a:53 is taken by another process: $(port_in_use "$a" 53)" >&2
		return 1
	fi
	knotc -c "$d/knot.conf" conf-check >"$d/conf-check.log" 2>&1 ||
		{ echo "live: $d/knot.conf: $(tail -n 2 "$d/conf-check.log")" >&2; return 1; }
	knotd -c "$d/knot.conf" -d || { echo "live: knotd $inst did not start" >&2; return 1; }
	wait_port "$a" 53 udp 10 && wait_port "$a" 53 tcp 10
}

live_knot_stop() {
	local p _
	p=$(_live_pid "$1") || return 0
	kill "$p" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$p" 2>/dev/null
}

live_knotc() {
	local inst=$1
	shift
	timeout 20 knotc -c "$W/srv/$inst/knot.conf" -t 10 "$@"
}

live_keymgr() {
	local inst=$1 zone=${2%.}
	shift 2
	timeout 20 keymgr -c "$W/srv/$inst/knot.conf" "$zone." "$@"
}

# A key's state is the last of Knot's timestamps that has passed.
live_keys() {
	live_keymgr "$1" "$2" -j list | jq -r --argjson now "$(date +%s)" '.[] |
		select(."public-only" | not) |
		. as $k | [ "publish", "ready", "active", "retire-active",
			    "retire", "post-active", "remove" ] |
		map(select($k[.] > 0 and $k[.] <= $now)) |
		"\($k.tag) \(if $k.ksk then "ksk" else "zsk" end) \(last // "created")"'
}

live_ksk_ds() {
	local inst=$1 zone=$2 tag
	shift 2
	if [ $# -eq 0 ]; then
		# shellcheck disable=SC2046 # one tag a word
		set -- $(live_keys "$inst" "$zone" | awk '$2 == "ksk" && $3 != "remove" { print $1 }')
	fi
	for tag in "$@"; do
		live_keymgr "$inst" "$zone" ds "$tag" |
			awk '$2 == "DS" && $5 == 2 { print $3, $4, $5, tolower($6) }'
	done | sort
}

live_dnskey() {
	live_keymgr "$1" "$2" dnskey "$3" | awk -v t=$LIVE_TTL '$2 == "DNSKEY" { $1 = $1 " " t " IN"; print }'
}

# States in which Knot publishes a key's DNSKEY, and its CDS/CDNSKEY
# (cds-cdnskey-publish always: the ready, else the active KSK).
live_cds() {
	live_ksk_ds "$1" "$2" "$3" | sed "s/^/${2%.}. 0 IN CDS /"
	live_dnskey "$1" "$2" "$3" | sed "s/ $LIVE_TTL IN DNSKEY / 0 IN CDNSKEY /"
}

live_foreign() {
	local inst=$1 zone=${2%.} tag role st
	live_keys "$inst" "$zone" | while read -r tag role st; do
		case "$st" in publish|ready|active|retire-active) ;; *) continue ;; esac
		live_dnskey "$inst" "$zone" "$tag"
		[ "$role" = ksk ] || continue
		case "$st" in ready|active) ;; *) continue ;; esac
		live_cds "$inst" "$zone" "$tag"
	done
}

live_ad() {
	kdig +dnssec +retry=0 +timeout=2 @"$WORLD_RESOLVER" "$1" "$2" 2>/dev/null |
		awk '/^;; ->>HEADER<<-/ { rc = $6 } /^;; Flags:/ { f = $0 }
		     /^;; ANSWER SECTION:/ { ans = 1 }
		     END { exit !(rc == "NOERROR;" && f ~ / ad[ ;]/ && (ans || nd)) }' nd="${3:+1}"
}

live_wait() {
	local secs=$1 _
	shift
	for _ in $(seq $((secs * 5))); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}
