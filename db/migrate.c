/*
 * Schema migrations: bring the database to the newest schema this binary
 * carries (db/sql/NNN_*.sql, compiled in by db/sql/embed.sh). The version
 * lives in cdscan_meta.schema_version, outside every migration, so that
 * "no row" means "nothing of cdscan yet" (version 0) and a migration that
 * fails leaves no trace: each one runs in its own transaction together
 * with the row that records it. A session advisory lock makes two
 * `cdscan init` at once take turns; the second then finds nothing to do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "db/db_int.h"

int db_schema_latest(void)
{
	int v = 0;

	for (size_t i = 0; i < db_n_migrations; i++)
		if (db_migrations[i].version > v)
			v = db_migrations[i].version;
	return v;
}

int db_schema_version(struct db *db, int *version)
{
	PGresult *r;
	int ret = CDS_EDB;

	*version = 0;
	/* to_regclass: NULL, not an error, when the table is not there */
	r = db_exec(db,
		    "SELECT CASE WHEN to_regclass('cdscan_meta.schema_version')"
		    " IS NULL THEN -1 ELSE 0 END",
		    0, NULL);
	if (!r)
		goto out;
	if (atoi(PQgetvalue(r, 0, 0)) < 0) {
		ret = CDS_OK;
		goto out;
	}
	PQclear(r);
	r = db_exec(db,
		    "SELECT coalesce(max(version), 0)"
		    " FROM cdscan_meta.schema_version",
		    0, NULL);
	if (!r)
		goto out;
	*version = atoi(PQgetvalue(r, 0, 0));
	ret = CDS_OK;
out:
	PQclear(r);
	return ret;
}

/* A migration file holds many statements: PQexec (simple protocol)
   accepts them, PQexecParams does not. */
static int exec_script(struct db *db, const struct db_migration *m)
{
	PGresult *r = PQexec(db->conn, m->sql);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	int ret = CDS_OK;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *msg = r ? PQresultErrorMessage(r) : "";
		size_t len = strlen(msg);

		while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
			len--;
		if (!len) {
			ret = db_fail(db, m->name);
		} else {
			snprintf(db->err, sizeof db->err, "%s: %.*s", m->name,
				 (int)len, msg);
			ret = CDS_EDB;
		}
	}
	PQclear(r);
	return ret;
}

static int apply_one(struct db *db, const struct db_migration *m)
{
	char version[16];
	const char *params[2] = {version, m->name};
	PGresult *r;

	snprintf(version, sizeof version, "%d", m->version);
	if (db_cmd(db, "BEGIN") != 0)
		return CDS_EDB;
	if (exec_script(db, m) != 0)
		goto fail;
	r = db_exec(db,
		    "INSERT INTO cdscan_meta.schema_version (version, name)"
		    " VALUES ($1, $2)",
		    2, params);
	if (!r)
		goto fail;
	PQclear(r);
	if (db_cmd(db, "COMMIT") != 0)
		goto fail;
	return CDS_OK;
fail:
	db_rollback(db);
	return CDS_EDB;
}

static const struct db_migration *find_migration(int version)
{
	for (size_t i = 0; i < db_n_migrations; i++)
		if (db_migrations[i].version == version)
			return &db_migrations[i];
	return NULL;
}

int db_migrate(struct db *db, int *from, int *to)
{
	char lock[96];
	int ret, cur = 0, latest = db_schema_latest();
	bool locked = false;

	if (from)
		*from = 0;
	snprintf(lock, sizeof lock, "SELECT pg_advisory_lock(%d, %d)",
		 DB_LOCK_NS, DB_LOCK_MIGRATE);
	if ((ret = db_cmd(db, lock)) != 0)
		goto out;
	locked = true;
	/* Under the lock, so IF NOT EXISTS cannot race with another init. */
	ret = db_cmd(db, "CREATE SCHEMA IF NOT EXISTS cdscan_meta");
	if (ret == 0)
		ret = db_cmd(db,
			     "CREATE TABLE IF NOT EXISTS"
			     " cdscan_meta.schema_version ("
			     " version integer PRIMARY KEY,"
			     " name text NOT NULL,"
			     " applied timestamptz NOT NULL DEFAULT now())");
	if (ret != 0 || (ret = db_schema_version(db, &cur)) != 0)
		goto out;
	if (from)
		*from = cur;
	if (cur > latest) {
		snprintf(db->err, sizeof db->err,
			 "the database schema is version %d, newer than this "
			 "cdscan knows (%d)", cur, latest);
		ret = CDS_EDB;
		goto out;
	}
	/* Versions need not be contiguous; apply every one above cur in
	   order. */
	for (int v = cur + 1; v <= latest; v++) {
		const struct db_migration *m = find_migration(v);

		if (!m)
			continue;
		if ((ret = apply_one(db, m)) != 0)
			goto out;
		cur = v;
	}
	ret = CDS_OK;
out:
	if (to)
		*to = cur;
	if (locked) {
		char keep[sizeof db->err];

		/* keep the error that stopped us, not the unlock's */
		memcpy(keep, db->err, sizeof keep);
		snprintf(lock, sizeof lock,
			 "SELECT pg_advisory_unlock(%d, %d)", DB_LOCK_NS,
			 DB_LOCK_MIGRATE);
		db_cmd(db, lock);
		memcpy(db->err, keep, sizeof keep);
	}
	return ret;
}
