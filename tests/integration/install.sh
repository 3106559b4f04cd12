#!/usr/bin/env bash
# make install honours PREFIX and DESTDIR: binary, sample configuration and
# both man pages land under DESTDIR/PREFIX, and the installed binary runs.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
D=$(mktemp -d /tmp/cdscan-install.XXXXXX)
on_exit "rm -rf '$D'"

if make --no-print-directory install PREFIX=/opt/cds DESTDIR="$D" >"$D.log" 2>&1; then
	missing=""
	for f in opt/cds/bin/cdscan etc/cdscan/cdscan.yaml.example \
		 opt/cds/share/man/man8/cdscan.8 opt/cds/share/man/man5/cdscan.yaml.5; do
		[ -f "$D/$f" ] || missing="$missing $f"
	done
	if [ -z "$missing" ] && "$D/opt/cds/bin/cdscan" -V | grep -q '^cdscan '; then
		pass install/prefix-destdir
	else
		fail install/prefix-destdir "missing:$missing"
	fi
else
	fail install/prefix-destdir "make install failed: $(tail -n 5 "$D.log")"
fi
rm -f "$D.log"
# the sample configuration is valid as shipped
if ./cdscan -c etc/cdscan.yaml config check >/dev/null 2>"$D/err"; then
	pass install/sample-config-valid
else
	fail install/sample-config-valid "$(cat "$D/err")"
fi
finish
