/*
 * Fuzz target: the configuration loader (core/conf.c) on any bytes as a
 * YAML file: libyaml's parse, the schema checks, and the effective
 * configuration printed back (conf_print reads every value it kept).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct conf *conf = NULL;
	char *yaml = malloc(size + 1);
	FILE *null;

	if (!yaml)
		return 0;
	memcpy(yaml, data, size);
	yaml[size] = '\0';
	if (conf_load_string("fuzz.yaml", yaml, &conf, err, sizeof err) == 0) {
		if ((null = fopen("/dev/null", "w"))) {
			conf_print(conf, null);
			fclose(null);
		}
		conf_free(conf);
	} else if (!memchr(err, '\0', sizeof err)) {
		abort(); /* the message must be a string */
	}
	free(yaml);
	return 0;
}
