# Scenario zones of the test world, one function scn_NAME per child zone
# NAME.test. Each sets up the parent's current DS (ds) and what every
# server serves (variant + sign). What cdscan should decide about each is
# in tests/integration/check_scenarios.sh. Key names are the handles the
# tests use to compute expected DS sets (keys/ZONE/NAME.ds).
#
# Unless a scenario says otherwise: ECDSA P-256 (13) KSK "ksk" + ZSK "zsk",
# DS {ksk}, every KSK given to sign signs DNSKEY/CDS/CDNSKEY.

WORLD_SCENARIOS="steady steady-cds ksk-rollover ksk-rollover-done
cdnskey-only cds-cdnskey-mismatch one-disagrees delete-all delete-one
delete-malformed expired-rrsig cds-zsk-only new-ds-no-dnskey sha1-only
sha1-and-sha256 alg7-refused alg5-refused alg7-to-13 alg-rollover-8-13
alg-rollover-8-13-done multi-signer multi-signer-own-key-only
silent-server tcp-large ipv6 op-a op-b no-glue already-insecure
first-no-cds"

# the usual pair: KSK + ZSK, algorithm 13
_std_keys() {
	key "$1" ksk 13 ksk
	key "$1" zsk 13
}

# signed zone, no CDS/CDNSKEY: nothing to do (RFC 7344 §6.1.1)
scn_steady() {
	local z=steady.test
	_std_keys $z
	zone_new $z "ns1=op1 ns2=op2"
	ds $z ksk
	variant $z a </dev/null
	sign $z a "op1 op2" ksk zsk
}

# CDS and CDNSKEY equal to the current DS
scn_steady-cds() {
	local z=steady-cds.test
	_std_keys $z
	zone_new $z "ns1=op1 ns2=knot"
	ds $z ksk
	{ cds $z ksk; cdnskey $z ksk; } | variant $z a
	sign $z a "op1 knot" ksk zsk
}

# KSK rollover, double-DS step 1: DS {old}, both KSKs sign, CDS {old,new}
scn_ksk-rollover() {
	local z=ksk-rollover.test
	key $z old 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1=op1 ns2=knot"
	ds $z old
	{ cds $z old new; cdnskey $z old new; } | variant $z a
	sign $z a "op1 knot" old new zsk
}

# step 2: DS {old,new}, CDS {new}
scn_ksk-rollover-done() {
	local z=ksk-rollover-done.test
	key $z old 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1=op2 ns2=knot"
	ds $z old new
	{ cds $z new; cdnskey $z new; } | variant $z a
	sign $z a "op2 knot" old new zsk
}

# only CDNSKEY: the parent computes the DS (SHA-256)
scn_cdnskey-only() {
	local z=cdnskey-only.test
	key $z ksk 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1=op1 ns2=op2"
	ds $z ksk
	cdnskey $z ksk new | variant $z a
	sign $z a "op1 op2" ksk new zsk
}

# CDS {ksk} but CDNSKEY {ksk,new}: RFC 9975 §3.1
scn_cds-cdnskey-mismatch() {
	local z=cds-cdnskey-mismatch.test
	key $z ksk 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1=op1 ns2=op2"
	ds $z ksk
	{ cds $z ksk; cdnskey $z ksk new; } | variant $z a
	sign $z a "op1 op2" ksk new zsk
}

# three operators; ns3 (op3) asks for {ksk,other}, the others for {ksk,new}
scn_one-disagrees() {
	local z=one-disagrees.test
	key $z ksk 13 ksk
	key $z new 13 ksk
	key $z other 13 ksk
	key $z zsk 13
	zone_new $z "ns1=op1 ns2=op2 ns3=op3"
	ds $z ksk
	{ cds $z ksk new; cdnskey $z ksk new; } | variant $z a
	sign $z a "op1 op2" ksk zsk -p new -p other
	{ cds $z ksk other; cdnskey $z ksk other; } | variant $z b
	sign $z b "op3" ksk zsk -p new -p other
}

# RFC 8078 §4 delete at every server
scn_delete-all() {
	local z=delete-all.test
	_std_keys $z
	zone_new $z "ns1=op1 ns2=knot"
	ds $z ksk
	{ cds_delete $z; cdnskey_delete $z; } | variant $z a
	sign $z a "op1 knot" ksk zsk
}

# delete at ns1 only (the first server in name and address order, so an
# early stop on "same as current" at another server cannot hide it);
# ns2 and ns3 still serve the current CDS: RFC 9975 §3.1, STANDARDS D3
scn_delete-one() {
	local z=delete-one.test
	_std_keys $z
	zone_new $z "ns1=op1 ns2=op2 ns3=op3"
	ds $z ksk
	{ cds_delete $z; cdnskey_delete $z; } | variant $z del
	sign $z del "op1" ksk zsk
	{ cds $z ksk; cdnskey $z ksk; } | variant $z old
	sign $z old "op2 op3" ksk zsk
}

# a delete record next to a normal CDS record (RFC 8078 §4, STANDARDS D1)
scn_delete-malformed() {
	local z=delete-malformed.test
	_std_keys $z
	zone_new $z "ns1=op1 ns2=op2"
	ds $z ksk
	{ cds_delete $z; cds $z ksk; } | variant $z a
	sign $z a "op1 op2" ksk zsk
}

# CDS/CDNSKEY signatures expired (valid 15 days ago .. yesterday); the
# DNSKEY set and everything else validly signed
scn_expired-rrsig() {
	local z=expired-rrsig.test
	key $z ksk 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1=op1 ns2=op2"
	ds $z ksk
	{ cds $z ksk new; cdnskey $z ksk new; } | variant $z a
	sign $z a "op1 op2" -I -15d -E -1d ksk new zsk
}

# CDS/CDNSKEY signed only by the ZSK, which is not in the DS set (7344 §4.1)
scn_cds-zsk-only() {
	local z=cds-zsk-only.test
	key $z ksk 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1=op1 ns2=op2"
	ds $z ksk
	{ cds $z ksk new; cdnskey $z ksk new; } | variant $z a
	sign $z a "op1 op2" -z ksk new zsk
}

# CDS {new} where new is in no DNSKEY set: applying it breaks the zone
scn_new-ds-no-dnskey() {
	local z=new-ds-no-dnskey.test
	_std_keys $z
	key $z new 13 ksk
	zone_new $z "ns1=op1 ns2=op2"
	ds $z ksk
	{ cds $z new; cdnskey $z new; } | variant $z a
	sign $z a "op1 op2" ksk zsk
}

# only SHA-1 CDS records (RFC 9904: SHA-1 digests not accepted)
scn_sha1-only() {
	local z=sha1-only.test
	key $z ksk 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1=op1 ns2=op2"
	ds $z ksk
	cds $z -1 ksk new | variant $z a
	sign $z a "op1 op2" ksk new zsk
}

# each key as SHA-1 and SHA-256: install the SHA-256 ones only
scn_sha1-and-sha256() {
	local z=sha1-and-sha256.test
	key $z ksk 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1=op1 ns2=op2"
	ds $z ksk
	{ cds $z -1 ksk new; cds $z ksk new; } | variant $z a
	sign $z a "op1 op2" ksk new zsk
}

# a zone on algorithm 7 asking for another algorithm-7 key (RFC 9905)
scn_alg7-refused() {
	local z=alg7-refused.test
	key $z ksk 7 ksk
	key $z new 7 ksk
	key $z zsk 7 zsk 1024
	zone_new $z "ns1=op1 ns2=op2"
	ds $z ksk
	{ cds $z ksk new; cdnskey $z ksk new; } | variant $z a
	sign $z a "op1 op2" ksk new zsk
}

# the same on algorithm 5 (RSASHA1): RFC 9905 forbids new DS for it too
scn_alg5-refused() {
	local z=alg5-refused.test
	key $z ksk 5 ksk
	key $z new 5 ksk
	key $z zsk 5 zsk 1024
	zone_new $z "ns1=op2 ns2=op3"
	ds $z ksk
	{ cds $z ksk new; cdnskey $z ksk new; } | variant $z a
	sign $z a "op2 op3" ksk new zsk
}

# algorithm rollover 7 -> 13: both algorithms sign everything, CDS {13}
scn_alg7-to-13() {
	local z=alg7-to-13.test
	key $z ksk7 7 ksk
	key $z zsk7 7 zsk 1024
	key $z ksk13 13 ksk
	key $z zsk13 13
	zone_new $z "ns1=op1 ns2=op2"
	ds $z ksk7
	{ cds $z ksk13; cdnskey $z ksk13; } | variant $z a
	sign $z a "op1 op2" ksk7 zsk7 ksk13 zsk13
}

# algorithm rollover 8 -> 13, step 1: DS {8}, CDS {8,13}
scn_alg-rollover-8-13() {
	local z=alg-rollover-8-13.test
	key $z ksk8 8 ksk
	key $z zsk8 8 zsk 1024
	key $z ksk13 13 ksk
	key $z zsk13 13
	zone_new $z "ns1=op2 ns2=knot"
	ds $z ksk8
	{ cds $z ksk8 ksk13; cdnskey $z ksk8 ksk13; } | variant $z a
	sign $z a "op2 knot" ksk8 zsk8 ksk13 zsk13
}

# step 2: DS {8,13}, CDS {13}
scn_alg-rollover-8-13-done() {
	local z=alg-rollover-8-13-done.test
	key $z ksk8 8 ksk
	key $z zsk8 8 zsk 1024
	key $z ksk13 13 ksk
	key $z zsk13 13
	zone_new $z "ns1=op2 ns2=knot"
	ds $z ksk8 ksk13
	{ cds $z ksk13; cdnskey $z ksk13; } | variant $z a
	sign $z a "op2 knot" ksk8 zsk8 ksk13 zsk13
}

# RFC 8901 model 2: operator A (op1) and B (knot), each its own KSK+ZSK,
# each serving own KSK + both ZSKs signed by its own KSK. B rolls in b2.
_multi_signer() {
	local z=$1 cds_b=$2
	key $z ksk_a 13 ksk
	key $z zsk_a 13
	key $z ksk_b 13 ksk
	key $z ksk_b2 13 ksk
	key $z zsk_b 13
	zone_new $z "ns1=op1 ns2=knot"
	ds $z ksk_a ksk_b
	{ cds $z ksk_a ksk_b ksk_b2; cdnskey $z ksk_a ksk_b ksk_b2; } | variant $z a
	sign $z a "op1" ksk_a zsk_a -p zsk_b
	{ cds $z $cds_b; cdnskey $z $cds_b; } | variant $z b
	sign $z b "knot" ksk_b ksk_b2 zsk_b -p zsk_a
}
scn_multi-signer() { _multi_signer multi-signer.test "ksk_a ksk_b ksk_b2"; }
# B publishes only its own keys: RFC 8901 wants the union everywhere
scn_multi-signer-own-key-only() {
	_multi_signer multi-signer-own-key-only.test "ksk_b ksk_b2"
}

# ns2 points at an address where nothing listens
scn_silent-server() {
	local z=silent-server.test
	key $z ksk 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1=op1 ns2=silent"
	ds $z ksk
	{ cds $z ksk new; cdnskey $z ksk new; } | variant $z a
	sign $z a "op1" ksk new zsk
}

# DNSKEY and CDNSKEY answers above 1232 octets: an RSA zone (algorithm 8,
# so that RFC 4035 §2.2 holds: every algorithm in the DNSKEY set signs)
# with four standby RSA KSKs published (not signing) and offered in
# CDS/CDNSKEY; the answers need TCP after TC=1
scn_tcp-large() {
	local z=tcp-large.test i
	key $z ksk 8 ksk 2048
	key $z zsk 8 zsk 1024
	for i in 1 2 3 4; do
		key $z rsa$i 8 ksk 2048
	done
	zone_new $z "ns1=op2 ns2=knot"
	ds $z ksk
	{ cds $z ksk rsa1 rsa2 rsa3 rsa4; cdnskey $z ksk rsa1 rsa2 rsa3 rsa4; } |
		variant $z a
	sign $z a "op2 knot" ksk zsk -p rsa1 -p rsa2 -p rsa3 -p rsa4
}

# one NS name with an A (op3) and an AAAA (::1, also op3)
scn_ipv6() {
	local z=ipv6.test
	key $z ksk 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1=op3,v6"
	ds $z ksk
	{ cds $z ksk new; cdnskey $z ksk new; } | variant $z a
	sign $z a "op3" ksk new zsk
}

# operator zones holding their nameservers' addresses (for no-glue)
_operator_zone() {
	local z=$1 s1=$2 s2=$3
	_std_keys $z
	zone_new $z "ns=$s1"
	ds $z ksk
	printf '%s\n' "ns1.$z. IN A $(world_addr $s1)" "ns2.$z. IN A $(world_addr $s2)" |
		variant $z a
	sign $z a "$s1 $s2" ksk zsk
}
scn_op-a() { _operator_zone op-a.test op1 op2; }
scn_op-b() { _operator_zone op-b.test op3 knot; }

# NS names in other zones, no glue in test.: addresses come from unbound
scn_no-glue() {
	local z=no-glue.test
	key $z ksk 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1.op-a.test.= ns1.op-b.test.="
	ds $z ksk
	{ cds $z ksk new; cdnskey $z ksk new; } | variant $z a
	sign $z a "op1 op3" ksk new zsk
}

# signed child without DS at the parent asking for delete: nothing to do
scn_already-insecure() {
	local z=already-insecure.test
	_std_keys $z
	zone_new $z "ns1=op1 ns2=op2"
	{ cds_delete $z; cdnskey_delete $z; } | variant $z a
	sign $z a "op1 op2" ksk zsk
}

# ns1 (op1) publishes no CDS/CDNSKEY, ns2 (op2) asks for {ksk,new}: a full
# probe sees the disagreement (RFC 9975 §3.1); a probe that stops early at
# ns1 (the first name) may stop, since nothing may change either way
# (STANDARDS Q6)
scn_first-no-cds() {
	local z=first-no-cds.test
	key $z ksk 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1=op1 ns2=op2"
	ds $z ksk
	variant $z none </dev/null
	sign $z none "op1" ksk zsk -p new
	{ cds $z ksk new; cdnskey $z ksk new; } | variant $z a
	sign $z a "op2" ksk new zsk
}

# ---- bootstrapping (STANDARDS §5) ------------------------------------------
#
# Children without DS at the parent that publish CDS/CDNSKEY. RFC 9615
# signals live in operator zones of test.: sig-a.test (op1) and sig-b.test
# (op2), signed and delegated with DS; sig-insec.test (op3), delegated
# without DS (insecure); sig-bogus.test (op3), signed with DS but with the
# signatures over its signal records broken. Each holds ns1/ns2.<op> A
# records for the children's NS names and, per child it vouches for,
# CDS and CDNSKEY at _dsboot.<child>._signal.<nsname> (RFC 9615 §2). The
# children's contents must be known when the operator zones are signed,
# so one scenario, "bootstrap", builds them all in order; its own zone
# bootstrap.test. is the success case of the T line (ns1 outside, ns2
# outside, ns3 inside the child, signals at ns1 and ns2).

WORLD_SCENARIOS="$WORLD_SCENARIOS bootstrap boot-inzone boot-delay
boot-delay-change boot-delay-import"

# the child's CDS {ksk} and CDNSKEY {ksk} as signal records of NS name $2
_signal_rrs() {
	local z=$1 ns=$2
	{ cds $z ksk; cdnskey $z ksk; } |
		awk -v o="$z." -v n="_dsboot.$z._signal.$ns." '$1 == o { $1 = n } { print }'
}

# a bootstrap child: KSK+ZSK, no DS, CDS/CDNSKEY {ksk}, served by the
# instances in $3; $2 is the zone_new NS spec
_boot_child() {
	local z=$1 spec=$2 servers=$3
	_std_keys $z
	zone_new $z "$spec"
	{ cds $z ksk; cdnskey $z ksk; } | variant $z a
	sign $z a "$servers" ksk zsk
}

# operator zone $1 served by $2, its ns1 and ns2 at $2; signals of the
# children $4... for NS name ns$3.$1; "nods" as $5 leaves out the DS
_signal_zone() {
	local op=$1 srv=$2 nsn=$3 withds=$4 c
	shift 4
	_std_keys $op
	zone_new $op "ns=$srv"
	[ "$withds" = ds ] && ds $op ksk
	{
		echo "ns1.$op. IN A $(world_addr $srv)"
		echo "ns2.$op. IN A $(world_addr $srv)"
		for c in "$@"; do _signal_rrs "$c" "ns$nsn.$op"; done
	} | variant $op a
}

scn_bootstrap() {
	local z
	# the children, each with the NS set its case needs
	_boot_child bootstrap.test \
		"ns1.sig-a.test.= ns2.sig-b.test.= ns3=op3" "op1 op2 op3"
	_boot_child boot-missing.test \
		"ns1.sig-a.test.= ns2.sig-b.test.= ns3=op3" "op1 op2 op3"
	_boot_child boot-insecure.test \
		"ns1.sig-a.test.= ns2.sig-insec.test.= ns3=op1" "op1 op3"
	_boot_child boot-bogus.test \
		"ns1.sig-a.test.= ns2.sig-bogus.test.= ns3=op1" "op1 op3"
	_boot_child boot-unreach.test \
		"ns1.sig-a.test.= ns2.sig-b.test.= ns3=silent" "op1 op2"
	# already secure: DS {ksk}, rolling to {ksk,new}, signals present
	z=boot-secure.test
	key $z ksk 13 ksk
	key $z new 13 ksk
	key $z zsk 13
	zone_new $z "ns1.sig-a.test.= ns2.sig-b.test.="
	ds $z ksk
	{ cds $z ksk new; cdnskey $z ksk new; } | variant $z a
	sign $z a "op1 op2" ksk new zsk

	_signal_zone sig-a.test op1 1 ds bootstrap.test boot-missing.test \
		boot-insecure.test boot-bogus.test boot-unreach.test \
		boot-secure.test
	sign sig-a.test a "op1" ksk zsk
	# missing at ns2: sig-b has no signal for boot-missing.test
	_signal_zone sig-b.test op2 2 ds bootstrap.test boot-unreach.test \
		boot-secure.test
	sign sig-b.test a "op2" ksk zsk
	# insecure: delegated without DS
	_signal_zone sig-insec.test op3 2 nods boot-insecure.test
	sign sig-insec.test a "op3" ksk zsk
	# bogus: every signature over a signal record is damaged
	_signal_zone sig-bogus.test op3 2 ds boot-bogus.test
	sign sig-bogus.test a "" ksk zsk
	_break_signal_sigs "$W/zones/sig-bogus.test/a.signed"
	mkdir -p "$W/srv/op3/zones"
	ln -f "$W/zones/sig-bogus.test/a.signed" "$W/srv/op3/zones/sig-bogus.test.zone"
}

# flip a bit in the signature of every RRSIG owned by a _dsboot name
_break_signal_sigs() {
	awk 'BEGIN { OFS = "\t" }
	     $1 ~ /^_dsboot\./ && $4 == "RRSIG" {
		s = $NF; c = substr(s, 1, 1)
		$NF = (c == "A" ? "B" : "A") substr(s, 2) }
	     { print }' "$1" >"$1.new" && mv "$1.new" "$1"
}

# every NS inside the child: RFC 9615 cannot apply (B3 abort)
scn_boot-inzone() {
	_boot_child boot-inzone.test "ns1=op1 ns2=op2" "op1 op2"
}

# accept after delay: NS inside the child (no RFC 9615), signatures valid
# from 30 days back so that tests can move the clock (--now) over days
_delay_child() {
	local z=$1
	_std_keys $z
	zone_new $z "ns1=op1 ns2=op2"
	{ cds $z ksk; cdnskey $z ksk; } | variant $z a
	sign $z a "op1 op2" -i -30d -e +30d ksk zsk
}
scn_boot-delay() { _delay_child boot-delay.test; }
scn_boot-delay-import() { _delay_child boot-delay-import.test; }

# the same, and a variant b (serial 2, not served until a test switches
# to it with tests/world/serve): CDS/CDNSKEY {new}, signed by both KSKs
scn_boot-delay-change() {
	local z=boot-delay-change.test
	_delay_child $z
	key $z new 13 ksk
	{ cds $z new; cdnskey $z new; } | variant $z b
	sed -i 's/ 1 60 60 3600 60$/ 2 60 60 3600 60/' "$W/zones/$z/b.in"
	sign $z b "" -i -30d -e +30d ksk new zsk
}

# ---- CSYNC (RFC 7477, STANDARDS §6) ----------------------------------------
#
# Children y-*.test. publishing CSYNC, signed (DS {ksk} at the parent)
# unless a scenario says otherwise. The parent's NS set and glue come
# from the first spec, the child's own NS RRset and addresses from the
# second (zone_new words; "ns1=" is an in-zone name without address).
# What cdscan should decide about each is in tests/integration/csync.sh.
# y-serial-moves has a second variant (serial 2) that tests/tools/badns
# serves at $Y_BADNS after the first SOA query.

Y_BADNS=127.0.10.31

WORLD_SCENARIOS="$WORLD_SCENARIOS y-ns-replace y-nodata-one y-flags-differ
y-ds-bit y-flag4 y-held y-rejected y-stale y-soamin y-aaaa-only y-glue-empty
y-serial-moves y-unsigned y-lame"

# _y_zone ZONE PARENT_SPEC CHILD_SPEC: the delegation from one spec, the
# zone head (SOA, NS, addresses) from the other
_y_zone() {
	local z=$1
	zone_new "$z" "$3"
	mv "$W/zones/$z/head" "$W/zones/$z/head.child"
	zone_new "$z" "$2"
	mv "$W/zones/$z/head.child" "$W/zones/$z/head"
}

# _y_signed ZONE PARENT_SPEC CHILD_SPEC "SERVERS" CSYNC-RDATA: KSK+ZSK, DS
# {ksk}, one variant with that CSYNC record served by every server named
_y_signed() {
	local z=$1
	_std_keys "$z"
	_y_zone "$z" "$2" "$3"
	ds "$z" ksk
	echo "$z. IN CSYNC $5" | variant "$z" a
	sign "$z" a "$4" ksk zsk
}

# T: NS sets equal everywhere -> NS RRset replaced (ns1 leaves, ns3 joins)
scn_y-ns-replace() {
	_y_signed y-ns-replace.test "ns1=op1 ns2=op2" "ns2=op2 ns3=op3" \
		"op1 op2 op3" "1 1 NS A"
}

# T: one server answers NODATA for CSYNC -> no change
scn_y-nodata-one() {
	local z=y-nodata-one.test
	_std_keys $z
	_y_zone $z "ns1=op1 ns2=op2" "ns1=op1 ns2=op2 ns3=op3"
	ds $z ksk
	echo "$z. IN CSYNC 1 1 NS A" | variant $z a
	sign $z a "op1 op3" ksk zsk
	variant $z none </dev/null
	sign $z none "op2" ksk zsk
}

# T: the immediate flag differs -> no change
scn_y-flags-differ() {
	local z=y-flags-differ.test
	_std_keys $z
	_y_zone $z "ns1=op1 ns2=op2" "ns1=op1 ns2=op2 ns3=op3"
	ds $z ksk
	echo "$z. IN CSYNC 1 1 NS A" | variant $z a
	sign $z a "op1 op3" ksk zsk
	echo "$z. IN CSYNC 1 0 NS A" | variant $z b
	sign $z b "op2" ksk zsk
}

# T: the bit map includes DS -> no change; flag 0x0004 -> no change
scn_y-ds-bit() {
	_y_signed y-ds-bit.test "ns1=op1 ns2=op2" "ns1=op1 ns2=op2 ns3=op3" \
		"op1 op2 op3" "1 1 NS DS"
}
scn_y-flag4() {
	_y_signed y-flag4.test "ns1=op1 ns2=op2" "ns1=op1 ns2=op2 ns3=op3" \
		"op1 op2 op3" "1 5 NS A"
}

# T: flags = 0 -> queued for approval: then approved, rejected, or found
# stale when the registry moved meanwhile
scn_y-held() {
	_y_signed y-held.test "ns1=op1 ns2=op2" "ns1=op1 ns2=op2 ns3=op3" \
		"op1 op2 op3" "1 0 NS A"
}
scn_y-rejected() {
	_y_signed y-rejected.test "ns1=op1 ns2=op2" "ns1=op1 ns2=op2 ns3=op3" \
		"op1 op2 op3" "1 0 NS A"
}
scn_y-stale() {
	_y_signed y-stale.test "ns1=op1 ns2=op2" "ns1=op1 ns2=op2 ns3=op3" \
		"op1 op2 op3" "1 0 NS A"
}

# T: soaminimum, CSYNC serial 100 while ns2's SOA serial is 99 -> no change
scn_y-soamin() {
	local z=y-soamin.test
	_std_keys $z
	_y_zone $z "ns1=op1 ns2=op2" "ns1=op1 ns2=op2 ns3=op3"
	ds $z ksk
	echo "$z. IN CSYNC 100 3 NS A" | variant $z a
	sed -i 's/ 1 60 60 3600 60$/ 100 60 60 3600 60/' "$W/zones/$z/a.in"
	sign $z a "op1 op3" ksk zsk
	echo "$z. IN CSYNC 100 3 NS A" | variant $z b
	sed -i 's/ 1 60 60 3600 60$/ 99 60 60 3600 60/' "$W/zones/$z/b.in"
	sign $z b "op2" ksk zsk
}

# T: only the AAAA bit -> A glue unchanged. The parent holds ns1's A
# (op3); the child says ns1 has another A (op2) and the AAAA ::1 (op3's
# IPv6 face): only the AAAA glue may follow.
scn_y-aaaa-only() {
	_y_signed y-aaaa-only.test "ns1=op3 ns2=op1" "ns1=op2,v6 ns2=op1" \
		"op1 op2 op3" "1 1 AAAA"
}

# T: glue would end up empty -> glue unchanged: the A bit is set and the
# child's ns1 has no address at all (a TXT record only: NODATA for A)
scn_y-glue-empty() {
	local z=y-glue-empty.test
	_std_keys $z
	_y_zone $z "ns1=op1 ns2=op2" "ns1= ns2=op2"
	ds $z ksk
	printf '%s\n' "$z. IN CSYNC 1 1 A" "ns1.$z. IN TXT \"no address\"" |
		variant $z a
	sign $z a "op1 op2" ksk zsk
}

# T: serial changes during the transaction -> retry. ns2 is badns at
# $Y_BADNS (started by the test): it answers the first SOA query from
# variant a (serial 1), every later one from variant b (serial 2).
scn_y-serial-moves() {
	local z=y-serial-moves.test f
	_std_keys $z
	_y_zone $z "ns1=op1 ns2=silent" "ns1=op1 ns2=silent ns3=op3"
	for f in "$W/tld/$z.deleg" "$W/zones/$z/head"; do
		sed -i "s/ 127\.0\.10\.99\$/ $Y_BADNS/" "$f"
	done
	ds $z ksk
	echo "$z. IN CSYNC 1 1 NS A" | variant $z a
	sign $z a "op1 op3" ksk zsk
	echo "$z. IN CSYNC 1 1 NS A" | variant $z b
	sed -i 's/ 1 60 60 3600 60$/ 2 60 60 3600 60/' "$W/zones/$z/b.in"
	sign $z b "" ksk zsk
}

# T: CSYNC data insecure -> abort: an unsigned child (no DS, no RRSIG)
scn_y-unsigned() {
	local z=y-unsigned.test i
	_y_zone $z "ns1=op1 ns2=op2" "ns1=op1 ns2=op2 ns3=op3"
	echo "$z. IN CSYNC 1 1 NS A" | variant $z a
	for i in op1 op2 op3; do
		mkdir -p "$W/srv/$i/zones"
		ln -f "$W/zones/$z/a.in" "$W/srv/$i/zones/$z.zone"
	done
}

# a new NS that is lame: ns3 points at Knot, which does not serve the zone
scn_y-lame() {
	_y_signed y-lame.test "ns1=op1 ns2=op2" "ns1=op1 ns2=op2 ns3=knot" \
		"op1 op2" "1 1 NS A"
}
