/*
 * Fuzz target: the parent zone file reader of `cdscan import`
 * (db/zone.c): ldns's zone-file parser as import drives it (line
 * numbers, $ORIGIN/$TTL, the DSYNC skip), the record checks, and the
 * plan that groups records into delegations, NS, DS and glue, all before
 * any database is touched. db/zone.c is included whole so that its static
 * reader and planner can be reached without a PostgreSQL connection.
 */
#include "db/zone.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zfile z = {.path = "fuzz.zone"};
	struct zplan p = {0};
	FILE *fp;

	/* An empty buffer makes fmemopen fail (EINVAL) on glibc. */
	if (size == 0 || !(fp = fmemopen((void *)data, size, "r")))
		return 0;
	if (read_file(&z, fp) == 0 && z.have_origin)
		(void)plan(&z, &p);
	zplan_deinit(&p);
	zfile_deinit(&z);
	fclose(fp);
	return 0;
}
