/*
 * A small streaming JSON writer for the --json outputs: it keeps track of
 * nesting and commas and escapes strings (RFC 8259 §7). Output only.
 */
#ifndef CDS_CORE_JSON_H
#define CDS_CORE_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 16

struct json {
	FILE *out;
	int depth;
	bool first[JSON_DEPTH_MAX]; /* no member written yet at this depth */
	bool pretty;
};

void json_init(struct json *j, FILE *out, bool pretty);
/* Containers; `key` is NULL inside arrays and at the top. */
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
/* Scalars; json_str with s == NULL writes null. */
void json_str(struct json *j, const char *key, const char *s);
void json_int(struct json *j, const char *key, int64_t v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
/* A value that is already JSON text (a jsonb column from PostgreSQL),
   written as it is: the caller vouches that it is valid. */
void json_raw(struct json *j, const char *key, const char *text);
/* Ends the document with a newline. */
void json_finish(struct json *j);

#endif
