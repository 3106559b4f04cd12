# Shell helpers for the integration tests (source it from bash).
#
#   pass NAME / fail NAME WHY   print "PASS NAME" / "FAIL NAME: WHY" (the
#                               format tests/run counts) and keep a tally
#   skip NAME WHY               print "SKIP NAME: WHY" (not counted)
#   finish                      exit 1 when anything failed, else 0
#   wait_port ADDR PORT [udp|tcp] [SECONDS]
#                               wait until something listens there
#   port_in_use ADDR PORT       print who listens on ADDR:PORT (or on the
#                               wildcard address of its family); 0 if any
#   on_exit CMD                 run CMD when the script exits, however it
#                               exits (several calls stack, last first)
#   need_root / need_cmd CMD... skip the whole script with a clear reason
#   CMD | grepq [GREP-OPTIONS] PATTERN
#                               grep -q that reads all of its input first

TESTS_PASSED=0
TESTS_FAILED=0

pass() {
	echo "PASS $1"
	TESTS_PASSED=$((TESTS_PASSED + 1))
}

fail() {
	local name=$1
	shift
	echo "FAIL $name: $*"
	TESTS_FAILED=$((TESTS_FAILED + 1))
}

skip() {
	local name=$1
	shift
	echo "SKIP $name: $*"
}

finish() {
	echo "# $TESTS_PASSED passed, $TESTS_FAILED failed"
	[ "$TESTS_FAILED" -eq 0 ]
	exit $?
}

# `grep -q` leaves at the first match; a writer with more to write then
# dies of SIGPIPE, and under pipefail the pipeline fails although the
# pattern was found: a test that fails when the machine is busy (seen
# with `echo "$out" | grep -q` on a 4 KB listing). grepq reads everything.
grepq() {
	local in
	in=$(cat)
	grep -q "$@" <<<"$in"
}

# ss prints IPv6 addresses in brackets; match both families' wildcards.
port_in_use() {
	local addr=$1 port=$2 wild='0.0.0.0'
	case "$addr" in *:*) addr="[$addr]"; wild='\[::\]' ;; esac
	ss -Hlnup 2>/dev/null | awk -v a="$addr:$port" -v w="$wild:$port" \
		'$4 == a || $4 == w || $5 == a || $5 == w { print; found = 1 }
		 END { exit !found }'
}

wait_port() {
	local addr=$1 port=$2 proto=${3:-udp} secs=${4:-10} i flag=-Hlnu
	[ "$proto" = tcp ] && flag=-Hlnt
	case "$addr" in *:*) addr="[$addr]" ;; esac
	for i in $(seq $((secs * 20))); do
		ss $flag 2>/dev/null | awk -v a="$addr:$port" \
			'$4 == a || $5 == a { f = 1 } END { exit !f }' && return 0
		sleep 0.05
	done
	echo "wait_port: nothing listens on $addr:$port ($proto) after ${secs}s" >&2
	return 1
}

__ON_EXIT=""
__run_on_exit() {
	local rc=$?
	eval "$__ON_EXIT"
	exit $rc
}

on_exit() {
	__ON_EXIT="$1; $__ON_EXIT"
	trap __run_on_exit EXIT
	trap 'exit 130' INT TERM
}

need_root() {
	if [ "$(id -u)" != 0 ]; then
		skip "${0##*/}" "needs root (binds port 53 on 127.0.10.x)"
		exit 0
	fi
}

need_cmd() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			fail "${0##*/}" "missing command $c (apt-get install it)"
			exit 1
		fi
	done
}
