/*
 * Configuration: a YAML file (libyaml) checked against one const schema
 * table of {key, type, default, check, doc} rows. Keys are dotted paths
 * ("scanner.timeout") of nested mappings. Modules read values through the
 * typed getters; adding an option is one schema row (core/conf.c) and one
 * line in docs/cdscan.yaml.5.
 *
 * Errors name the file, line and key:
 *   "/etc/cdscan/cdscan.yaml:12: scanner.timeout: expected a duration"
 */
#ifndef CDS_CORE_CONF_H
#define CDS_CORE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_DEFAULT_PATH "/etc/cdscan/cdscan.yaml"

enum conf_type {
	CONF_STR,      /* scalar string */
	CONF_INT,      /* integer, range-checked by min/max */
	CONF_BOOL,     /* true/false/yes/no/on/off */
	CONF_DURATION, /* "30", "30s", "500ms", "5m", "72h", "7d" -> milliseconds */
	CONF_ENUM,     /* one of the words in `choices` */
	CONF_LIST,     /* sequence of scalars (or one scalar) -> strings */
	CONF_INT_LIST, /* sequence of integers, each in [min, max] */
	CONF_RATE,     /* non-negative number, may have a fraction (per second) */
};

struct conf;

/*
 * Read and check `path`. On success *out is a new configuration (free with
 * conf_free). On failure returns CDS_ECONFIG (or CDS_EIO when the file
 * cannot be read) and writes one message naming file, line and key into
 * `err` (size `errlen`). Unknown keys are errors. Missing keys take their
 * defaults. `path` NULL means defaults only (no file).
 */
int conf_load(const char *path, struct conf **out, char *err, size_t errlen);

/* Same, from a string in memory; `name` stands for the file in messages. */
int conf_load_string(const char *name, const char *yaml, struct conf **out,
		     char *err, size_t errlen);

void conf_free(struct conf *conf);

/* The file it was read from, or "(defaults)". Borrowed. */
const char *conf_path(const struct conf *conf);

/*
 * Typed getters. `key` must be a schema key of that type; a wrong key or
 * type is a programming error (abort with a message).
 */
const char *conf_str(const struct conf *conf, const char *key); /* may be NULL */
int64_t conf_int(const struct conf *conf, const char *key);
bool conf_bool(const struct conf *conf, const char *key);
int64_t conf_duration_ms(const struct conf *conf, const char *key);
double conf_rate(const struct conf *conf, const char *key);
/* Enum: the chosen word (borrowed). */
const char *conf_enum(const struct conf *conf, const char *key);
/* Lists: count and items (borrowed). */
size_t conf_list(const struct conf *conf, const char *key,
		 const char *const **items);
size_t conf_int_list(const struct conf *conf, const char *key,
		     const int64_t **items);

/* Override one value as if the file had said `value` (used by CLI flags
   and tests). Returns 0 or CDS_ECONFIG with a message in err. */
int conf_set(struct conf *conf, const char *key, const char *value, char *err,
	     size_t errlen);

/*
 * Print the effective configuration as YAML, every key with its value,
 * commented with where it came from (file line or "default").
 */
void conf_print(const struct conf *conf, FILE *out);

/* The i-th key of the schema ("log.level"), NULL past the end; for
   documentation checks and tools. Static string. */
const char *conf_schema_key(size_t i);

#endif
