/* Names of verdicts and reasons: stable strings for JSON and the database. */
#include "core/decision.h"

const char *cds_verdict_name(enum cds_verdict v)
{
	switch (v) {
	case CDS_DEC_UNCHANGED: return "unchanged";
	case CDS_DEC_UPDATE: return "update";
	case CDS_DEC_DELETE: return "delete";
	case CDS_DEC_REJECTED: return "rejected";
	case CDS_DEC_PENDING: return "pending";
	}
	return "?";
}

static const char *const reason_names[CDS_R__COUNT] = {
	[CDS_R_NONE] = "none",
	[CDS_R_NO_CDS] = "no-cds",
	[CDS_R_SAME_AS_CURRENT] = "same-as-current",
	[CDS_R_APPLY_UPDATE] = "update",
	[CDS_R_APPLY_DELETE] = "delete",
	[CDS_R_ALREADY_INSECURE] = "already-insecure",
	[CDS_R_SERVER_UNREACHABLE] = "server-unreachable",
	[CDS_R_SERVER_ERROR] = "server-error",
	[CDS_R_SERVERS_DISAGREE] = "servers-disagree",
	[CDS_R_CDS_CDNSKEY_MISMATCH] = "cds-cdnskey-mismatch",
	[CDS_R_DELETE_PARTIAL] = "delete-partial",
	[CDS_R_DELETE_MALFORMED] = "delete-malformed",
	[CDS_R_DNSKEY_UNPROVEN] = "dnskey-unproven",
	[CDS_R_SIG_INVALID] = "signature-invalid",
	[CDS_R_SIG_NOT_DS_KEY] = "signed-by-non-ds-key",
	[CDS_R_MALFORMED_RECORD] = "malformed-record",
	[CDS_R_NO_ELIGIBLE_DIGEST] = "no-eligible-digest",
	[CDS_R_ALGORITHM_REFUSED] = "algorithm-refused",
	[CDS_R_TOO_MANY_DS] = "too-many-ds",
	[CDS_R_BREAKS_DELEGATION] = "breaks-delegation",
	[CDS_R_BOOTSTRAP_DISABLED] = "bootstrap-disabled",
	[CDS_R_INPUT_MISSING] = "input-missing",
	[CDS_R_TOO_MANY_RECORDS] = "too-many-records",
	[CDS_R_LOCKED] = "locked",
	[CDS_R_OPTED_OUT] = "opted-out",
	[CDS_R_DS_CHANGED] = "ds-changed",
	[CDS_R_HOLD_DOWN] = "hold-down",
	[CDS_R_REPLAYED] = "replayed-signature",
	[CDS_R_DELETE_REFUSED] = "delete-refused",
	[CDS_R_BOOTSTRAP_RFC9615] = "bootstrap-rfc9615",
	[CDS_R_BOOTSTRAP_DELAY] = "bootstrap-delay",
	[CDS_R_BOOTSTRAP_WAITING] = "bootstrap-waiting",
	[CDS_R_BOOTSTRAP_UNPROVEN] = "bootstrap-unproven",
	[CDS_R_BOOTSTRAP_NS_IN_CHILD] = "bootstrap-ns-in-child",
	[CDS_R_BOOTSTRAP_SERVER_UNREACHABLE] = "bootstrap-server-unreachable",
	[CDS_R_BOOTSTRAP_SIGNAL_MISSING] = "bootstrap-signal-missing",
	[CDS_R_BOOTSTRAP_SIGNAL_MISMATCH] = "bootstrap-signal-mismatch",
	[CDS_R_BOOTSTRAP_SIGNAL_INSECURE] = "bootstrap-signal-insecure",
	[CDS_R_BOOTSTRAP_SIGNAL_BOGUS] = "bootstrap-signal-bogus",
	[CDS_R_BOOTSTRAP_SIGNAL_FAILED] = "bootstrap-signal-failed",
	[CDS_R_CSYNC_NONE] = "csync-none",
	[CDS_R_CSYNC_NO_CHANGE] = "csync-no-change",
	[CDS_R_CSYNC_APPLY] = "csync-apply",
	[CDS_R_CSYNC_HELD] = "csync-held",
	[CDS_R_CSYNC_INSECURE] = "csync-insecure",
	[CDS_R_CSYNC_UNSUPPORTED] = "csync-unsupported",
	[CDS_R_CSYNC_DISAGREE] = "csync-servers-disagree",
	[CDS_R_CSYNC_SOAMINIMUM] = "csync-soaminimum",
	[CDS_R_CSYNC_SERIAL_MOVED] = "csync-serial-moved",
	[CDS_R_CSYNC_SERIAL_REGRESSED] = "csync-serial-regressed",
	[CDS_R_CSYNC_NO_NS] = "csync-no-ns",
	[CDS_R_CSYNC_NS_COUNT] = "csync-ns-count",
	[CDS_R_CSYNC_GLUE_EMPTY] = "csync-glue-empty",
	[CDS_R_CSYNC_NEW_NS_BROKEN] = "csync-new-ns-broken",
	[CDS_R_CSYNC_SERVER_UNREACHABLE] = "csync-server-unreachable",
	[CDS_R_CSYNC_DISABLED] = "csync-disabled",
};

const char *cds_reason_name(enum cds_reason r)
{
	if ((unsigned)r >= CDS_R__COUNT || !reason_names[r])
		return "?";
	return reason_names[r];
}
