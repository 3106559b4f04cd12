# The test world's library (sourced by tests/world/build, start, stop and by
# tests that add zones of their own): a private DNSSEC-signed hierarchy
# ". -> test. -> <child>.test." served by real NSD and Knot instances on
# 127.0.10.x, with a validating unbound on 127.0.10.53.
#
# Layout under the world directory $W:
#   keys/ZONE/NAME.{key,private,ds,ds1}  keys (ldns-keygen), their DS (SHA-256, SHA-1)
#   zones/ZONE/VARIANT.{in,signed}       what one group of servers serves
#   tld/ZONE.deleg                       NS, glue and DS lines for test.
#   srv/INSTANCE/                        one daemon: config, pid, log, zones/
#   root.key, root.hints, cdscan.yaml    for unbound and cdscan
#
# Instances (the "operators"): root (NSD 127.0.10.1), tld (NSD 127.0.10.2),
# op1, op2 (NSD 127.0.10.11, .12), op3 (NSD 127.0.10.13 and ::1),
# knot (Knot 127.0.10.21), resolver (unbound 127.0.10.53). The NS spec
# words name where a nameserver points: op1 op2 op3 knot, v6 (::1, served
# by op3) and silent (127.0.10.99, where nothing listens).

WORLD_TOOLS=${WORLD_TOOLS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/tests/tools}
WORLD_NSD_INSTANCES="root tld op1 op2 op3"
WORLD_KNOT_INSTANCES="knot"
WORLD_RESOLVER=127.0.10.53
WORLD_TTL=60

# address of an instance word; v6 is the IPv6 face of op3
world_addr() {
	case "$1" in
	root) echo 127.0.10.1 ;;
	tld) echo 127.0.10.2 ;;
	op1) echo 127.0.10.11 ;;
	op2) echo 127.0.10.12 ;;
	op3) echo 127.0.10.13 ;;
	knot) echo 127.0.10.21 ;;
	v6) echo ::1 ;;
	silent) echo 127.0.10.99 ;;
	resolver) echo "$WORLD_RESOLVER" ;;
	*) echo "world: unknown server word '$1'" >&2; return 1 ;;
	esac
}

# every address:port the world binds (used to detect conflicts)
world_listen_addrs() {
	local i
	for i in $WORLD_NSD_INSTANCES $WORLD_KNOT_INSTANCES resolver v6; do
		world_addr "$i"
	done
}

world_die() {
	echo "world: $*" >&2
	exit 1
}

# fully qualify NAME relative to ZONE ("ns1" -> "ns1.zone.test.")
_fq() {
	case "$1" in *.) echo "$1" ;; @) echo "$2." ;; *) echo "$1.$2." ;; esac
}

_alg_name() {
	case "$1" in
	5) echo RSASHA1 ;;
	7) echo RSASHA1-NSEC3-SHA1 ;;
	8) echo RSASHA256 ;;
	13) echo ECDSAP256SHA256 ;;
	14) echo ECDSAP384SHA384 ;;
	15) echo ED25519 ;;
	*) world_die "algorithm $1 not supported here" ;;
	esac
}

# key ZONE NAME ALG [ksk|zsk] [BITS]: a new key $W/keys/ZONE/NAME.*
# (ZONE "root" stands for the root zone ".")
key() {
	local zone=$1 name=$2 alg=$3 role=${4:-zsk} bits=${5:-2048} d base flag= owner
	d=$W/keys/$zone
	owner=$zone.
	[ "$zone" = root ] && owner=.
	mkdir -p "$d"
	[ "$role" = ksk ] && flag=-k
	case "$alg" in 13|14|15) bits= ;; esac
	base=$(cd "$d" && ldns-keygen -a "$(_alg_name "$alg")" ${bits:+-b $bits} $flag "$owner") ||
		world_die "ldns-keygen failed for $zone $name"
	mv "$d/$base.key" "$d/$name.key"
	mv "$d/$base.private" "$d/$name.private"
	rm -f "$d/$base.ds"
	# -f: a DS for ZSKs too (a scenario may point CDS at any key)
	ldns-key2ds -f -n -2 "$d/$name.key" >"$d/$name.ds" || world_die "ldns-key2ds $name"
	ldns-key2ds -f -n -1 "$d/$name.key" >"$d/$name.ds1" || world_die "ldns-key2ds $name"
}

# path of a key file base
kp() { echo "$W/keys/$1/$2"; }

# rdata of the DS record in FILE (ldns-key2ds prints a TTL, or may not)
_ds_rdata() {
	awk '{ for (i = 1; i < NF; i++) if ($i == "DS") { print $(i+1), $(i+2), $(i+3), $(i+4); exit } }' "$1"
}

# the rdata of a key's DS ("TAG ALG DT HEX"), SHA-256 or with -1 SHA-1
ds_rdata() {
	local ext=ds
	[ "$1" = -1 ] && { ext=ds1; shift; }
	_ds_rdata "$W/keys/$1/$2.$ext"
}

# zone lines for the child apex
cds() {
	local zone=$1 ext=ds n
	shift
	[ "${1:-}" = -1 ] && { ext=ds1; shift; }
	for n in "$@"; do
		echo "$zone. IN CDS $(_ds_rdata "$W/keys/$zone/$n.$ext")"
	done
}
cdnskey() {
	local zone=$1 n
	shift
	for n in "$@"; do
		awk -v o="$zone." '$3 == "DNSKEY" || $4 == "DNSKEY" {
			sub(/;.*/, ""); sub(/DNSKEY/, "CDNSKEY"); print }' \
			"$W/keys/$zone/$n.key"
	done
}
cds_delete() { echo "$1. IN CDS 0 0 0 00"; }
cdnskey_delete() { echo "$1. IN CDNSKEY 0 3 0 AA=="; }

# zone_new ZONE "NAME=WORD[,WORD] ...": start a child zone. Writes the head
# (SOA, NS, addresses of in-zone NS names) and the delegation in test.
# (NS, glue). NAME may be fully qualified for an out-of-zone NS (no glue).
zone_new() {
	local zone=$1 spec=$2 d item name words w addr fq
	d=$W/zones/$zone
	mkdir -p "$d" "$W/tld"
	{
		echo "\$TTL $WORLD_TTL"
		echo "$zone. IN SOA ns.nic.test. hostmaster.nic.test. 1 60 60 3600 60"
	} >"$d/head"
	: >"$W/tld/$zone.deleg"
	for item in $spec; do
		name=${item%%=*}
		words=${item#*=}
		fq=$(_fq "$name" "$zone")
		echo "$zone. IN NS $fq" | tee -a "$W/tld/$zone.deleg" >>"$d/head"
		case "$fq" in *".$zone.") ;; *) continue ;; esac
		for w in ${words//,/ }; do
			addr=$(world_addr "$w") || exit 1
			case "$addr" in
			*:*) echo "$fq IN AAAA $addr" ;;
			*) echo "$fq IN A $addr" ;;
			esac
		done | tee -a "$W/tld/$zone.deleg" >>"$d/head"
	done
}

# ds ZONE KEYNAME...: the parent's current DS set (SHA-256)
ds() {
	local zone=$1 n
	shift
	for n in "$@"; do
		echo "$zone. IN DS $(_ds_rdata "$W/keys/$zone/$n.ds")"
	done >>"$W/tld/$zone.deleg"
}

# variant ZONE NAME: the zone head plus extra lines from stdin
variant() {
	{ cat "$W/zones/$1/head"; cat; } >"$W/zones/$1/$2.in"
}

# sign ZONE VARIANT "INSTANCES" [zonesign options] KEYNAME...
# Key names (also after -p) become key paths. The signed file is served
# by every instance named.
sign() {
	local zone=$1 var=$2 servers=$3 opts=() keys=() out i
	shift 3
	while [ $# -gt 0 ]; do
		case "$1" in
		-z) opts+=("$1") ;;
		-p) opts+=("$1" "$(kp "$zone" "$2")"); shift ;;
		-i|-e|-I|-E) opts+=("$1" "$2"); shift ;;
		*) keys+=("$(kp "$zone" "$1")") ;;
		esac
		shift
	done
	out=$W/zones/$zone/$var.signed
	"$WORLD_TOOLS/zonesign" -t "$WORLD_TTL" "${opts[@]}" -o "$zone." \
		-f "$out" "$W/zones/$zone/$var.in" "${keys[@]}" ||
		world_die "zonesign failed for $zone/$var"
	for i in $servers; do
		mkdir -p "$W/srv/$i/zones"
		ln -f "$out" "$W/srv/$i/zones/$zone.zone"
	done
}
