/*
 * One error convention for all of cdscan: functions return int, 0 on
 * success, a negative CDS_E* code on failure; results go through
 * out-parameters. cds_strerror() names a code for people.
 */
#ifndef CDS_CORE_ERRORS_H
#define CDS_CORE_ERRORS_H

enum {
	CDS_OK = 0,
	CDS_ENOMEM = -1,     /* out of memory */
	CDS_EINVAL = -2,     /* invalid argument or input */
	CDS_ETIMEOUT = -3,   /* no answer within the timeout, after retries */
	CDS_ENET = -4,       /* network error (socket, connect, send) */
	CDS_EMALFORMED = -5, /* malformed wire data or record */
	CDS_EMISMATCH = -6,  /* answer did not match the question */
	CDS_ERCODE = -7,     /* server answered with an error RCODE */
	CDS_ELAME = -8,      /* server is not authoritative (referral, AA=0) */
	CDS_ECONFIG = -9,    /* configuration error */
	CDS_ERESOLVE = -10,  /* name could not be resolved */
	CDS_EBOGUS = -11,    /* DNSSEC validation failed */
	CDS_EINSECURE = -12, /* data is provably insecure where secure is needed */
	CDS_ELIMIT = -13,    /* a resource limit was hit */
	CDS_EIO = -14,       /* file or system I/O error */
	CDS_ENOTFOUND = -15, /* no such object */
	CDS_ECANCELED = -16, /* operation canceled (shutdown) */
	CDS_ETRUNC = -17,    /* answer truncated and TCP not possible */
	CDS_EDB = -18,       /* database error */
	CDS_EPROTO = -19,    /* protocol violation by the peer */
};

/* Static string for an error code; never NULL. */
const char *cds_strerror(int code);

#endif
