/* Names for the CDS_E* error codes. */
#include "core/errors.h"

const char *cds_strerror(int code)
{
	switch (code) {
	case CDS_OK: return "ok";
	case CDS_ENOMEM: return "out of memory";
	case CDS_EINVAL: return "invalid argument";
	case CDS_ETIMEOUT: return "timeout";
	case CDS_ENET: return "network error";
	case CDS_EMALFORMED: return "malformed data";
	case CDS_EMISMATCH: return "answer does not match question";
	case CDS_ERCODE: return "error rcode";
	case CDS_ELAME: return "not authoritative";
	case CDS_ECONFIG: return "configuration error";
	case CDS_ERESOLVE: return "cannot resolve";
	case CDS_EBOGUS: return "DNSSEC bogus";
	case CDS_EINSECURE: return "DNSSEC insecure";
	case CDS_ELIMIT: return "limit exceeded";
	case CDS_EIO: return "I/O error";
	case CDS_ENOTFOUND: return "not found";
	case CDS_ECANCELED: return "canceled";
	case CDS_ETRUNC: return "truncated";
	case CDS_EDB: return "database error";
	case CDS_EPROTO: return "protocol error";
	}
	return "unknown error";
}
