/*
 * What the files of policy/ share and nobody else needs: building the
 * detail text people read.
 */
#ifndef CDS_POLICY_POLICY_INT_H
#define CDS_POLICY_POLICY_INT_H

#include <stddef.h>

/* Append to a NUL-terminated buffer, never past `size`: details are for
   people, a cut is fine. */
void policy_text_add(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
