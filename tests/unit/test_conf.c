/*
 * Unit tests of core/conf.c (and the policy mapping in
 * policy/policy_conf.c): values from a good file, defaults, the parse of
 * every type, error messages that name file, line and key for each kind
 * of bad file under tests/data/conf/, conf_set, the conf_print round
 * trip, and that the sample and the man page name every key.
 * Run from the top of the source tree (tests/run does).
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/errors.h"
#include "policy/policy.h"

#define DATA "tests/data/conf/"

static struct conf *load_ok(const char *path)
{
	struct conf *c = NULL;
	char err[512] = "";

	ck_assert_msg(conf_load(path, &c, err, sizeof err) == 0, "%s: %s",
		      path ? path : "(null)", err);
	ck_assert_ptr_nonnull(c);
	return c;
}

static struct conf *defaults(void)
{
	return load_ok(NULL);
}

/* conf_print into a string (caller frees). */
static char *print_str(const struct conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	conf_print(c, f);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

/* The printed values without the comments saying where they came from. */
static char *values_only(const struct conf *c)
{
	char *s = print_str(c), *out = calloc(1, strlen(s) + 1), *line, *save;

	ck_assert_ptr_nonnull(out);
	for (line = strtok_r(s, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *hash = strstr(line, "  # ");

		if (line[0] == '#')
			continue;
		if (hash)
			*hash = '\0';
		strcat(strcat(out, line), "\n");
	}
	free(s);
	return out;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), n);
	fclose(f);
	return buf;
}

/* ---- good file and defaults ---- */

START_TEST(good_file_gives_its_values)
{
	struct conf *c = load_ok(DATA "good.yaml");
	const char *const *srv;
	const int64_t *il;

	ck_assert_str_eq(conf_path(c), DATA "good.yaml");
	ck_assert_str_eq(conf_enum(c, "log.level"), "debug");
	ck_assert_uint_eq(conf_list(c, "resolver.servers", &srv), 3);
	ck_assert_str_eq(srv[0], "127.0.0.1");
	ck_assert_str_eq(srv[1], "::1");
	ck_assert_str_eq(srv[2], "127.0.0.1@5353");
	ck_assert_str_eq(conf_str(c, "resolver.trust-anchors"),
			 "/var/lib/cdscan/root.key");
	ck_assert_int_eq(conf_duration_ms(c, "resolver.timeout"), 2000);
	ck_assert_int_eq(conf_duration_ms(c, "scanner.timeout"), 800);
	ck_assert_int_eq(conf_int(c, "scanner.retries"), 3);
	ck_assert_double_eq(conf_rate(c, "scanner.backoff"), 1.5);
	ck_assert_int_eq(conf_int(c, "scanner.max-inflight"), 5000);
	ck_assert_double_eq(conf_rate(c, "scanner.rate-per-server"), 20);
	ck_assert_double_eq(conf_rate(c, "scanner.rate-global"), 10000);
	ck_assert(conf_bool(c, "scanner.tcp-only"));
	ck_assert_int_eq(conf_int(c, "scanner.edns-bufsize"), 1400);
	ck_assert_int_eq(conf_int(c, "scanner.max-answer"), 16384);
	ck_assert_uint_eq(conf_int_list(c, "policy.digest-types", &il), 1);
	ck_assert_int_eq(il[0], 2);
	ck_assert_uint_eq(conf_int_list(c, "policy.algorithms", &il), 2);
	ck_assert_int_eq(il[0], 13);
	ck_assert_int_eq(il[1], 15);
	ck_assert_int_eq(conf_int(c, "policy.max-ds"), 4);
	ck_assert_str_eq(conf_enum(c, "policy.input"), "cds");
	ck_assert(conf_bool(c, "policy.require-both"));
	ck_assert(conf_bool(c, "policy.accept-any-dnskey"));
	ck_assert_int_eq(
		conf_duration_ms(c, "policy.exclude-unreachable-after"),
		3 * 86400 * 1000LL);
	conf_free(c);
}
END_TEST

static void assert_defaults(const struct conf *c)
{
	const char *const *srv;
	const int64_t *il;

	ck_assert_str_eq(conf_enum(c, "log.level"), "warning");
	ck_assert_uint_eq(conf_list(c, "resolver.servers", &srv), 0);
	ck_assert_str_eq(conf_str(c, "resolver.trust-anchors"),
			 "/usr/share/dns/root.key");
	ck_assert_int_eq(conf_duration_ms(c, "resolver.timeout"), 5000);
	ck_assert_int_eq(conf_duration_ms(c, "scanner.timeout"), 1500);
	ck_assert_int_eq(conf_int(c, "scanner.retries"), 2);
	ck_assert_double_eq(conf_rate(c, "scanner.backoff"), 2);
	ck_assert_int_eq(conf_int(c, "scanner.max-inflight"), 2000);
	ck_assert_double_eq(conf_rate(c, "scanner.rate-per-server"), 50);
	ck_assert_double_eq(conf_rate(c, "scanner.rate-global"), 0);
	ck_assert(!conf_bool(c, "scanner.tcp-only"));
	ck_assert_int_eq(conf_int(c, "scanner.edns-bufsize"), 1232);
	ck_assert_int_eq(conf_int(c, "scanner.max-answer"), 65535);
	ck_assert_uint_eq(conf_int_list(c, "policy.digest-types", &il), 2);
	ck_assert_int_eq(il[0], 2);
	ck_assert_int_eq(il[1], 4);
	ck_assert_int_eq(conf_int(c, "policy.cdnskey-digest"), 2);
	ck_assert_uint_eq(conf_int_list(c, "policy.algorithms", &il), 6);
	ck_assert_int_eq(il[0], 8);
	ck_assert_int_eq(il[5], 16);
	ck_assert_int_eq(conf_int(c, "policy.max-ds"), 8);
	ck_assert_str_eq(conf_enum(c, "policy.input"), "both");
	ck_assert(!conf_bool(c, "policy.require-both"));
	ck_assert(!conf_bool(c, "policy.accept-any-dnskey"));
	ck_assert_int_eq(
		conf_duration_ms(c, "policy.exclude-unreachable-after"), 0);
}

START_TEST(no_file_gives_defaults)
{
	struct conf *c = defaults();

	ck_assert_str_eq(conf_path(c), "(defaults)");
	assert_defaults(c);
	conf_free(c);
}
END_TEST

START_TEST(empty_files_give_defaults)
{
	static const char *const files[] = {DATA "empty.yaml",
					    DATA "comments-only.yaml"};

	for (size_t i = 0; i < 2; i++) {
		struct conf *c = load_ok(files[i]);

		assert_defaults(c);
		conf_free(c);
	}
}
END_TEST

START_TEST(missing_keys_take_defaults)
{
	struct conf *c = NULL;
	char err[256];

	ck_assert_int_eq(conf_load_string("mem", "scanner:\n  retries: 7\n",
					  &c, err, sizeof err),
			 0);
	ck_assert_int_eq(conf_int(c, "scanner.retries"), 7);
	ck_assert_int_eq(conf_duration_ms(c, "scanner.timeout"), 1500);
	ck_assert_str_eq(conf_enum(c, "log.level"), "warning");
	conf_free(c);
}
END_TEST

START_TEST(missing_file_is_io_error)
{
	struct conf *c = NULL;
	char err[256];

	ck_assert_int_eq(conf_load(DATA "no-such.yaml", &c, err, sizeof err),
			 CDS_EIO);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(err, DATA "no-such.yaml"));
}
END_TEST

/* ---- parse of every type, through conf_set ---- */

static const struct parse_case {
	const char *key;
	const char *text;
	bool ok;
	int64_t ms;  /* durations */
	int64_t i;   /* ints */
	double rate; /* rates */
	int b;       /* bools: 1 true, 0 false */
} parse_cases[] = {
	{.key = "scanner.timeout", .text = "30", .ok = true, .ms = 30000},
	{.key = "scanner.timeout", .text = "500ms", .ok = true, .ms = 500},
	{.key = "scanner.timeout", .text = "45s", .ok = true, .ms = 45000},
	{.key = "scanner.timeout", .text = "1m", .ok = true, .ms = 60000},
	{.key = "policy.exclude-unreachable-after", .text = "2h", .ok = true,
	 .ms = 7200000},
	{.key = "policy.exclude-unreachable-after", .text = "7d", .ok = true,
	 .ms = 604800000},
	{.key = "policy.exclude-unreachable-after", .text = "0", .ok = true,
	 .ms = 0},
	{.key = "scanner.timeout", .text = "2w", .ok = false},
	{.key = "scanner.timeout", .text = "-1s", .ok = false},
	{.key = "scanner.timeout", .text = "1.5s", .ok = false},
	{.key = "scanner.timeout", .text = "s", .ok = false},
	{.key = "scanner.timeout", .text = "", .ok = false},
	{.key = "scanner.timeout", .text = "9ms", .ok = false},
	{.key = "scanner.timeout", .text = "61s", .ok = false},
	{.key = "policy.exclude-unreachable-after",
	 .text = "99999999999999999d", .ok = false},
	{.key = "scanner.retries", .text = "0", .ok = true, .i = 0},
	{.key = "scanner.retries", .text = "+10", .ok = true, .i = 10},
	{.key = "scanner.retries", .text = "11", .ok = false},
	{.key = "scanner.retries", .text = "-1", .ok = false},
	{.key = "scanner.retries", .text = "3.0", .ok = false},
	{.key = "scanner.retries", .text = "0x3", .ok = false},
	{.key = "scanner.retries", .text = "99999999999999999999", .ok = false},
	{.key = "scanner.backoff", .text = "1.5", .ok = true, .rate = 1.5},
	{.key = "scanner.backoff", .text = "10", .ok = true, .rate = 10},
	{.key = "scanner.backoff", .text = "0.5", .ok = false},
	{.key = "scanner.backoff", .text = "10.01", .ok = false},
	{.key = "scanner.rate-global", .text = "0", .ok = true, .rate = 0},
	{.key = "scanner.rate-global", .text = ".25", .ok = true, .rate = 0.25},
	{.key = "scanner.rate-global", .text = "inf", .ok = false},
	{.key = "scanner.rate-global", .text = "nan", .ok = false},
	{.key = "scanner.rate-global", .text = "1e3", .ok = false},
	{.key = "scanner.rate-global", .text = ".", .ok = false},
	{.key = "scanner.rate-global", .text = "-2", .ok = false},
	{.key = "scanner.tcp-only", .text = "true", .ok = true, .b = 1},
	{.key = "scanner.tcp-only", .text = "yes", .ok = true, .b = 1},
	{.key = "scanner.tcp-only", .text = "On", .ok = true, .b = 1},
	{.key = "scanner.tcp-only", .text = "false", .ok = true, .b = 0},
	{.key = "scanner.tcp-only", .text = "no", .ok = true, .b = 0},
	{.key = "scanner.tcp-only", .text = "OFF", .ok = true, .b = 0},
	{.key = "scanner.tcp-only", .text = "1", .ok = false},
	{.key = "scanner.tcp-only", .text = "maybe", .ok = false},
};

START_TEST(every_type_parses)
{
	const struct parse_case *t = &parse_cases[_i];
	struct conf *c = defaults();
	char err[256] = "";
	int rc = conf_set(c, t->key, t->text, err, sizeof err);

	if (!t->ok) {
		ck_assert_msg(rc == CDS_ECONFIG, "%s = '%s' accepted", t->key,
			      t->text);
		ck_assert_msg(strncmp(err, t->key, strlen(t->key)) == 0,
			      "message '%s' does not name %s", err, t->key);
		goto out;
	}
	ck_assert_msg(rc == 0, "%s = '%s': %s", t->key, t->text, err);
	if (strstr(t->key, "timeout") || strstr(t->key, "after"))
		ck_assert_int_eq(conf_duration_ms(c, t->key), t->ms);
	else if (strcmp(t->key, "scanner.retries") == 0)
		ck_assert_int_eq(conf_int(c, t->key), t->i);
	else if (strcmp(t->key, "scanner.tcp-only") == 0)
		ck_assert_int_eq(conf_bool(c, t->key), t->b);
	else
		ck_assert_double_eq(conf_rate(c, t->key), t->rate);
out:
	conf_free(c);
}
END_TEST

START_TEST(lists_and_strings_parse)
{
	struct conf *c = defaults();
	const char *const *srv;
	const int64_t *il;
	char err[256] = "";

	ck_assert_int_eq(conf_set(c, "policy.algorithms", "13,15", err,
				  sizeof err), 0);
	ck_assert_uint_eq(conf_int_list(c, "policy.algorithms", &il), 2);
	ck_assert_int_eq(il[1], 15);
	ck_assert_int_eq(conf_set(c, "resolver.servers",
				  "[ 127.0.0.2 , ::1@53 ]", err, sizeof err),
			 0);
	ck_assert_uint_eq(conf_list(c, "resolver.servers", &srv), 2);
	ck_assert_str_eq(srv[0], "127.0.0.2");
	ck_assert_str_eq(srv[1], "::1@53");
	ck_assert_int_eq(conf_set(c, "resolver.servers", "", err, sizeof err),
			 0);
	ck_assert_uint_eq(conf_list(c, "resolver.servers", &srv), 0);
	ck_assert_int_eq(conf_set(c, "resolver.trust-anchors", "", err,
				  sizeof err), 0);
	ck_assert_str_eq(conf_str(c, "resolver.trust-anchors"), "");
	ck_assert_int_eq(conf_set(c, "log.level", "info", err, sizeof err), 0);
	ck_assert_str_eq(conf_enum(c, "log.level"), "info");
	conf_free(c);
}
END_TEST

/* YAML forms: one scalar for a list, a null list, "" for a string. */
START_TEST(yaml_forms_of_lists_and_strings)
{
	struct conf *c = NULL;
	const char *const *srv;
	const int64_t *il;
	char err[256] = "";
	const char *y = "resolver:\n  servers: 127.0.0.1\n"
			"  trust-anchors: \"\"\n"
			"policy:\n  digest-types: 4\n"
			"  cdnskey-digest: 4\n";

	ck_assert_msg(conf_load_string("mem", y, &c, err, sizeof err) == 0,
		      "%s", err);
	ck_assert_uint_eq(conf_list(c, "resolver.servers", &srv), 1);
	ck_assert_str_eq(srv[0], "127.0.0.1");
	ck_assert_str_eq(conf_str(c, "resolver.trust-anchors"), "");
	ck_assert_uint_eq(conf_int_list(c, "policy.digest-types", &il), 1);
	ck_assert_int_eq(il[0], 4);
	conf_free(c);
	ck_assert_int_eq(conf_load_string("mem", "resolver:\n  servers:\n", &c,
					  err, sizeof err), 0);
	ck_assert_uint_eq(conf_list(c, "resolver.servers", &srv), 0);
	conf_free(c);
}
END_TEST

/* ---- bad files: FILE:LINE: KEY: what ---- */

static const struct bad_case {
	const char *file;
	const char *prefix; /* after "tests/data/conf/" */
	const char *says;   /* a fragment of the reason */
} bad_cases[] = {
	{"unknown-key.yaml", "unknown-key.yaml:3: scanner.retires: ",
	 "unknown key"},
	{"unknown-section.yaml", "unknown-section.yaml:3: databse: ",
	 "unknown section"},
	{"wrong-type.yaml", "wrong-type.yaml:2: scanner.retries: ",
	 "'many' is not an integer"},
	{"out-of-range.yaml", "out-of-range.yaml:2: scanner.timeout: ",
	 "5ms is out of range 10ms..1m"},
	{"bad-enum.yaml", "bad-enum.yaml:2: log.level: ",
	 "'loud' is not one of error, warning, info, debug"},
	/* The refused item's own line, not the key's. */
	{"digest-sha1.yaml", "digest-sha1.yaml:4: policy.digest-types: ",
	 "digest type 1 (SHA-1) MUST NOT be created"},
	{"algorithm-5.yaml", "algorithm-5.yaml:2: policy.algorithms: ",
	 "RFC 9905"},
	{"duplicate-key.yaml", "duplicate-key.yaml:4: scanner.retries: ",
	 "duplicate key (first on line 2)"},
	{"duplicate-section.yaml", "duplicate-section.yaml:5: scanner: ",
	 "duplicate key (first on line 1)"},
	{"malformed.yaml", "malformed.yaml:4: ", "invalid YAML"},
	{"list-for-scalar.yaml", "list-for-scalar.yaml:3: scanner.timeout: ",
	 "expected a duration (e.g. 30s, 500ms, 5m, 2h, 7d), got a list"},
	{"top-level-list.yaml", "top-level-list.yaml:1: ",
	 "the top level must be a mapping"},
	{"section-scalar.yaml", "section-scalar.yaml:1: scanner: ",
	 "is a section, expected a mapping"},
	{"alias.yaml", "alias.yaml:2: resolver: ", "aliases are not supported"},
	/* Hostile: must fail at once, not expand. */
	{"billion-laughs.yaml", "billion-laughs.yaml:1: a: ", "unknown"},
	{"two-documents.yaml", "two-documents.yaml:4: ",
	 "only one YAML document"},
	{"bad-server.yaml", "bad-server.yaml:2: resolver.servers: ",
	 "'ns1.example' is not an address"},
};

START_TEST(bad_file_names_file_line_key)
{
	const struct bad_case *t = &bad_cases[_i];
	char path[256], want[512], err[512] = "";
	struct conf *c = (struct conf *)1;

	snprintf(path, sizeof path, DATA "%s", t->file);
	snprintf(want, sizeof want, DATA "%s", t->prefix);
	ck_assert_int_eq(conf_load(path, &c, err, sizeof err), CDS_ECONFIG);
	ck_assert_ptr_null(c);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
		      "got '%s', want prefix '%s'", err, want);
	ck_assert_msg(strstr(err, t->says) != NULL, "got '%s', want '%s'",
		      err, t->says);
}
END_TEST

/* Refusals from the schema's check callbacks, through conf_set too. */
static const struct refusal {
	const char *key;
	const char *value;
	const char *says;
} refusals[] = {
	{"policy.digest-types", "[0]", "digest type 0"},
	{"policy.digest-types", "2, 1", "SHA-1"},
	{"policy.digest-types", "[3]", "GOST"},
	{"policy.digest-types", "[]", "at least one"},
	{"policy.digest-types", "[256]", "out of range 0..255"},
	{"policy.cdnskey-digest", "1", "SHA-1"},
	{"policy.cdnskey-digest", "6", "use 2 (SHA-256) or 4 (SHA-384)"},
	{"policy.algorithms", "[1]", "algorithm 1"},
	{"policy.algorithms", "[3]", "algorithm 3"},
	{"policy.algorithms", "[13, 5]", "RFC 9905 §2"},
	{"policy.algorithms", "[6]", "algorithm 6"},
	{"policy.algorithms", "[7]", "RFC 9905 §2"},
	{"policy.algorithms", "[12]", "algorithm 12"},
	{"policy.algorithms", "[253]", "private"},
	{"policy.algorithms", "[254]", "private"},
	{"policy.algorithms", "[]", "at least one"},
	{"resolver.servers", "127.0.0.1@0", "not an address"},
	{"resolver.servers", "127.0.0.1@", "not an address"},
	{"resolver.servers", "::1@65536", "not an address"},
	{"resolver.servers", "localhost", "not an address"},
	{"log.level", "warn", "not one of"},
	{"policy.input", "CDS", "not one of"},
	{"no.such-key", "1", "unknown key"},
};

START_TEST(refused_values_are_named)
{
	const struct refusal *t = &refusals[_i];
	struct conf *c = defaults();
	char err[512] = "";

	ck_assert_int_eq(conf_set(c, t->key, t->value, err, sizeof err),
			 CDS_ECONFIG);
	ck_assert_msg(strncmp(err, t->key, strlen(t->key)) == 0 &&
			      strstr(err, t->says),
		      "%s = %s: got '%s', want '%s'", t->key, t->value, err,
		      t->says);
	/* A refused value leaves the old one in place. */
	assert_defaults(c);
	conf_free(c);
}
END_TEST

START_TEST(error_in_string_names_its_name)
{
	struct conf *c = NULL;
	char err[256] = "";

	ck_assert_int_eq(conf_load_string("cmdline", "log:\n  level: 3\n", &c,
					  err, sizeof err),
			 CDS_ECONFIG);
	ck_assert_str_eq(err, "cmdline:2: log.level: '3' is not one of error, "
			      "warning, info, debug");
	ck_assert_int_eq(conf_load_string("x", "log:\n  level: \"a\\0b\"\n",
					  &c, err, sizeof err),
			 CDS_ECONFIG);
	ck_assert_str_eq(err, "x:2: log.level: contains a NUL character");
}
END_TEST

START_TEST(wrong_getter_aborts)
{
	struct conf *c = defaults();

	/* scanner.retries is an int, not a duration: a programming error. */
	conf_duration_ms(c, "scanner.retries");
	conf_free(c);
}
END_TEST

START_TEST(unknown_getter_key_aborts)
{
	struct conf *c = defaults();

	conf_int(c, "scanner.retry");
	conf_free(c);
}
END_TEST

/* ---- conf_print ---- */

START_TEST(print_says_where_values_came_from)
{
	struct conf *c = load_ok(DATA "good.yaml");
	char err[256];
	char *s;

	ck_assert_int_eq(conf_set(c, "scanner.retries", "9", err, sizeof err),
			 0);
	s = print_str(c);
	ck_assert_ptr_nonnull(
		strstr(s, "log:\n  level: debug  # " DATA "good.yaml:3\n"));
	ck_assert_ptr_nonnull(strstr(s, "  retries: 9  # set\n"));
	ck_assert_ptr_nonnull(
		strstr(s, "  timeout: 800ms  # " DATA "good.yaml:12\n"));
	ck_assert_ptr_nonnull(strstr(s, "  cdnskey-digest: 2  # " DATA
					"good.yaml:23\n"));
	free(s);
	conf_free(c);
	c = defaults();
	s = print_str(c);
	ck_assert_ptr_nonnull(strstr(s, "  servers: []  # default\n"));
	ck_assert_ptr_nonnull(strstr(
		s, "  trust-anchors: \"/usr/share/dns/root.key\"  # default\n"));
	ck_assert_ptr_nonnull(strstr(s, "  timeout: 1500ms  # default\n"));
	ck_assert_ptr_nonnull(strstr(s, "  algorithms: [8, 10, 13, 14, 15, "
					"16]  # default\n"));
	ck_assert_ptr_nonnull(
		strstr(s, "  exclude-unreachable-after: 0s  # default\n"));
	free(s);
	conf_free(c);
}
END_TEST

/* print -> load -> print gives the same values. */
static void assert_round_trip(struct conf *c)
{
	char *printed = print_str(c), *a = values_only(c), *b;
	struct conf *back = NULL;
	char err[512] = "";

	ck_assert_msg(conf_load_string("printed", printed, &back, err,
				       sizeof err) == 0,
		      "%s\n%s", err, printed);
	b = values_only(back);
	ck_assert_str_eq(a, b);
	free(printed);
	free(a);
	free(b);
	conf_free(back);
}

START_TEST(print_round_trips)
{
	struct conf *c = defaults();
	char err[256];

	assert_round_trip(c);
	conf_free(c);
	c = load_ok(DATA "good.yaml");
	assert_round_trip(c);
	/* Text that needs quoting, and rates and durations that need care. */
	ck_assert_int_eq(conf_set(c, "resolver.trust-anchors",
				  "/x/a \"b\": #c\\d\te", err, sizeof err),
			 0);
	ck_assert_int_eq(conf_set(c, "scanner.rate-global", "0.1", err,
				  sizeof err), 0);
	ck_assert_int_eq(conf_set(c, "scanner.timeout", "61000ms", err,
				  sizeof err), CDS_ECONFIG);
	ck_assert_int_eq(conf_set(c, "scanner.timeout", "60000ms", err,
				  sizeof err), 0);
	ck_assert_int_eq(conf_set(c, "policy.exclude-unreachable-after",
				  "90061001ms", err, sizeof err), 0);
	assert_round_trip(c);
	conf_free(c);
}
END_TEST

/* ---- the sample and the man page ---- */

START_TEST(sample_is_every_default)
{
	struct conf *c = load_ok("etc/cdscan.yaml"), *d = defaults();
	char *a = values_only(c), *b = values_only(d);
	char *sample = slurp("etc/cdscan.yaml");

	ck_assert_str_eq(a, b);
	/* Every key is written out, not left to the default. */
	for (size_t i = 0; conf_schema_key(i); i++) {
		const char *key = conf_schema_key(i), *dot = strrchr(key, '.');
		char want[128];

		/* top-level keys ("database") start a line of their own */
		if (dot)
			snprintf(want, sizeof want, "  %s:", dot + 1);
		else
			snprintf(want, sizeof want, "\n%s:", key);
		ck_assert_msg(strstr(sample, want), "sample lacks %s",
			      conf_schema_key(i));
	}
	free(sample);
	free(a);
	free(b);
	conf_free(c);
	conf_free(d);
}
END_TEST

START_TEST(man_page_names_every_key)
{
	char *man = slurp("docs/cdscan.yaml.5");

	for (size_t i = 0; conf_schema_key(i); i++) {
		char want[160], *p, *key = strdup(conf_schema_key(i));

		/* roff writes '-' as "\-" */
		snprintf(want, sizeof want, ".B %s", key);
		for (p = want; (p = strchr(p, '-')); p += 2) {
			memmove(p + 1, p, strlen(p) + 1);
			*p = '\\';
		}
		ck_assert_msg(strstr(man, want), "man page lacks '%s'", want);
		free(key);
	}
	free(man);
}
END_TEST

START_TEST(schema_sections_are_contiguous)
{
	/* conf_print opens each section once: rows must stay grouped. */
	for (size_t i = 0; conf_schema_key(i); i++) {
		const char *k = conf_schema_key(i);
		size_t sec;

		if (!strchr(k, '.'))
			continue; /* top-level key: no section */
		sec = (size_t)(strchr(k, '.') - k);

		for (size_t j = i + 1; conf_schema_key(j); j++) {
			const char *o = conf_schema_key(j);

			if (strncmp(o, k, sec + 1) == 0)
				ck_assert_msg(
					strncmp(conf_schema_key(j - 1), k,
						sec + 1) == 0,
					"%s is apart from its section", o);
			ck_assert_str_ne(o, k);
		}
	}
}
END_TEST

/* ---- policy mapping ---- */

START_TEST(policy_from_good_file)
{
	struct conf *c = load_ok(DATA "good.yaml");
	struct policy_config pc;
	char err[256] = "";

	ck_assert_int_eq(policy_config_from_conf(c, &pc, err, sizeof err), 0);
	ck_assert_uint_eq(pc.digest_types, 1u << 2);
	ck_assert_uint_eq(pc.cdnskey_digest, 2);
	for (int a = 0; a < 256; a++)
		ck_assert_int_eq(pc.accept_alg[a], a == 13 || a == 15);
	ck_assert_uint_eq(pc.max_ds, 4);
	ck_assert_int_eq(pc.input, POLICY_INPUT_CDS);
	ck_assert(pc.require_both);
	ck_assert(pc.accept_any_dnskey);
	ck_assert_uint_eq(pc.exclude_unreachable_after, 3 * 86400);
	conf_free(c);
}
END_TEST

START_TEST(policy_from_defaults_is_policy_default)
{
	struct conf *c = defaults();
	struct policy_config pc, def;
	char err[256] = "";

	ck_assert_int_eq(policy_config_from_conf(c, &pc, err, sizeof err), 0);
	policy_config_default(&def);
	ck_assert_uint_eq(pc.digest_types, def.digest_types);
	ck_assert_uint_eq(pc.digest_types, (1u << 2) | (1u << 4));
	ck_assert_uint_eq(pc.cdnskey_digest, def.cdnskey_digest);
	ck_assert_mem_eq(pc.accept_alg, def.accept_alg, sizeof def.accept_alg);
	ck_assert_uint_eq(pc.max_ds, def.max_ds);
	ck_assert_int_eq(pc.input, def.input);
	ck_assert_int_eq(pc.require_both, def.require_both);
	ck_assert_int_eq(pc.accept_any_dnskey, def.accept_any_dnskey);
	ck_assert_uint_eq(pc.exclude_unreachable_after,
			  def.exclude_unreachable_after);
	conf_free(c);
}
END_TEST

START_TEST(policy_refuses_cross_key_conflicts)
{
	struct conf *c = defaults();
	struct policy_config pc;
	char err[256] = "";

	/* A DS computed from CDNSKEY with a type we would not accept. */
	ck_assert_int_eq(conf_set(c, "policy.digest-types", "[2]", err,
				  sizeof err), 0);
	ck_assert_int_eq(conf_set(c, "policy.cdnskey-digest", "4", err,
				  sizeof err), 0);
	ck_assert_int_eq(policy_config_from_conf(c, &pc, err, sizeof err),
			 CDS_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "policy.cdnskey-digest"));
	/* Digest types beyond the 32-bit set cannot be represented. */
	ck_assert_int_eq(conf_set(c, "policy.digest-types", "[2, 40]", err,
				  sizeof err), 0);
	ck_assert_int_eq(conf_set(c, "policy.cdnskey-digest", "2", err,
				  sizeof err), 0);
	ck_assert_int_eq(policy_config_from_conf(c, &pc, err, sizeof err),
			 CDS_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "digest type 40"));
	/* Sub-second exclusion must not collapse into 0 = never. */
	ck_assert_int_eq(conf_set(c, "policy.digest-types", "[2]", err,
				  sizeof err), 0);
	ck_assert_int_eq(conf_set(c, "policy.exclude-unreachable-after",
				  "500ms", err, sizeof err), 0);
	ck_assert_int_eq(policy_config_from_conf(c, &pc, err, sizeof err), 0);
	ck_assert_uint_eq(pc.exclude_unreachable_after, 1);
	conf_free(c);
}
END_TEST

/* ---- cdscan config check (cmd_config is in the library) ---- */

struct run {
	int rc;
	char *out, *err;
};

static char *read_back(FILE *f)
{
	long n;
	char *buf;

	fflush(f);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), n);
	fclose(f);
	return buf;
}

/* Run `cdscan [-c path] config ARGS...` with stdout/stderr captured. */
static struct run run_config(const char *path, int argc, char **argv)
{
	struct cli_global g = {.config_path = path};
	FILE *o = tmpfile(), *e = tmpfile();
	int so = dup(1), se = dup(2);
	struct run r;

	ck_assert(o && e && so >= 0 && se >= 0);
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(o), 1);
	dup2(fileno(e), 2);
	r.rc = cmd_config(argc, argv, &g);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	fseek(o, 0, SEEK_END);
	fseek(e, 0, SEEK_END);
	r.out = read_back(o);
	r.err = read_back(e);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

START_TEST(config_check_prints_effective_config)
{
	char *argv[] = {"config", "check", NULL};
	struct run r = run_config(DATA "good.yaml", 2, argv);
	struct conf *c = load_ok(DATA "good.yaml");
	char *want = print_str(c);

	ck_assert_int_eq(r.rc, CLI_EXIT_OK);
	ck_assert_str_eq(r.err, DATA "good.yaml: ok\n");
	ck_assert_str_eq(r.out, want);
	free(want);
	conf_free(c);
	run_free(&r);
}
END_TEST

START_TEST(config_check_reports_errors)
{
	char *argv[] = {"config", "check", NULL};
	struct run r = run_config(DATA "algorithm-5.yaml", 2, argv);

	ck_assert_int_eq(r.rc, CLI_EXIT_FAIL);
	ck_assert_str_eq(r.out, "");
	ck_assert_ptr_nonnull(strstr(r.err, DATA "algorithm-5.yaml:2: "
					    "policy.algorithms: algorithm 5"));
	run_free(&r);
	/* A file named with -c must exist, unlike the default one. */
	r = run_config(DATA "no-such.yaml", 2, argv);
	ck_assert_int_eq(r.rc, CLI_EXIT_FAIL);
	ck_assert_ptr_nonnull(strstr(r.err, DATA "no-such.yaml: No such"));
	run_free(&r);
}
END_TEST

START_TEST(config_usage_errors)
{
	char *alone[] = {"config", NULL};
	char *unknown[] = {"config", "frob", NULL};
	char *extra[] = {"config", "check", "x", NULL};
	struct run r;

	r = run_config(DATA "good.yaml", 1, alone);
	ck_assert_int_eq(r.rc, CLI_EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "usage:"));
	run_free(&r);
	r = run_config(DATA "good.yaml", 2, unknown);
	ck_assert_int_eq(r.rc, CLI_EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "'frob'"));
	run_free(&r);
	r = run_config(DATA "good.yaml", 3, extra);
	ck_assert_int_eq(r.rc, CLI_EXIT_USAGE);
	ck_assert_str_eq(r.out, "");
	run_free(&r);
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = tcase_create("load");
	tcase_add_test(tc, good_file_gives_its_values);
	tcase_add_test(tc, no_file_gives_defaults);
	tcase_add_test(tc, empty_files_give_defaults);
	tcase_add_test(tc, missing_keys_take_defaults);
	tcase_add_test(tc, missing_file_is_io_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("types");
	tcase_add_loop_test(tc, every_type_parses, 0,
			    sizeof parse_cases / sizeof parse_cases[0]);
	tcase_add_test(tc, lists_and_strings_parse);
	tcase_add_test(tc, yaml_forms_of_lists_and_strings);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, bad_file_names_file_line_key, 0,
			    sizeof bad_cases / sizeof bad_cases[0]);
	tcase_add_loop_test(tc, refused_values_are_named, 0,
			    sizeof refusals / sizeof refusals[0]);
	tcase_add_test(tc, error_in_string_names_its_name);
	suite_add_tcase(s, tc);

	/* Apart, so CK_FORK=no can run every other case. */
	tc = tcase_create("misuse");
	tcase_add_test_raise_signal(tc, wrong_getter_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, unknown_getter_key_aborts, SIGABRT);
	suite_add_tcase(s, tc);

	tc = tcase_create("print");
	tcase_add_test(tc, print_says_where_values_came_from);
	tcase_add_test(tc, print_round_trips);
	suite_add_tcase(s, tc);

	tc = tcase_create("docs");
	tcase_add_test(tc, sample_is_every_default);
	tcase_add_test(tc, man_page_names_every_key);
	tcase_add_test(tc, schema_sections_are_contiguous);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_test(tc, policy_from_good_file);
	tcase_add_test(tc, policy_from_defaults_is_policy_default);
	tcase_add_test(tc, policy_refuses_cross_key_conflicts);
	suite_add_tcase(s, tc);

	tc = tcase_create("cli");
	tcase_add_test(tc, config_check_prints_effective_config);
	tcase_add_test(tc, config_check_reports_errors);
	tcase_add_test(tc, config_usage_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
