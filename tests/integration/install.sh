#!/usr/bin/env bash
# make install honours PREFIX and DESTDIR: binary, sample configuration,
# both man pages and the systemd unit land under DESTDIR/PREFIX, and the
# installed binary runs.
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
	if [ -z "$missing" ] && "$D/opt/cds/bin/cdscan" -V | grepq '^cdscan '; then
		pass install/prefix-destdir
	else
		fail install/prefix-destdir "missing:$missing"
	fi
else
	fail install/prefix-destdir "make install failed: $(tail -n 5 "$D.log")"
fi
# the systemd unit, pointing at the installed binary and configuration
u=$D/opt/cds/lib/systemd/system/cdscan.service
if [ ! -f "$u" ]; then
	fail install/systemd-unit "no opt/cds/lib/systemd/system/cdscan.service"
elif ! grep -qx 'ExecStart=/opt/cds/bin/cdscan -c /etc/cdscan/cdscan.yaml daemon' "$u"; then
	fail install/systemd-unit "ExecStart: $(grep ExecStart "$u")"
elif [ "$(stat -c %a "$u")" != 644 ] || ! grep -q '^Type=notify' "$u"; then
	fail install/systemd-unit "mode $(stat -c %a "$u") or not Type=notify"
elif command -v systemd-analyze >/dev/null &&
	! systemd-analyze verify --man=no "$u" >"$D/verify" 2>&1 &&
	grep -q "$u" "$D/verify"; then
	fail install/systemd-unit "systemd-analyze: $(head -n 2 "$D/verify")"
else
	pass install/systemd-unit
fi
rm -f "$D.log"
# the sample configuration is valid as shipped
if "${CDSCAN:-./cdscan}" -c etc/cdscan.yaml config check >/dev/null 2>"$D/err"; then
	pass install/sample-config-valid
else
	fail install/sample-config-valid "$(cat "$D/err")"
fi
finish
