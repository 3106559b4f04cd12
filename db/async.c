/*
 * Database work off an event loop: a few threads, each with its own
 * connection, run tasks that the loop submits and hand them back through
 * an eventfd. `cdscan scan` probes thousands of delegations at once on
 * one thread; a blocking libpq call there (a claim, a batch of results, a
 * change transaction of several milliseconds) stops every probe and lets
 * the in-flight window drain. Here those calls wait on their own threads
 * while the loop goes on.
 *
 * The pool knows nothing of what a task does: it queues, runs, and
 * returns. Ordering and limits (how much may wait) are the caller's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/errors.h"
#include "db/db_int.h"

struct db_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;       /* work queued, or stop */
	struct db_task *todo, *todo_tail;
	struct db_task *done, *done_tail;
	bool stop;                 /* run nothing more */
	int efd;                   /* readable while done is not empty */
	size_t n;                  /* threads started */
	pthread_t *threads;
	size_t n_dbs;
	struct db **dbs;           /* one connection per thread */
};

struct worker_arg {
	struct db_pool *p;
	struct db *db;
};

static void push(struct db_task **head, struct db_task **tail,
		 struct db_task *t)
{
	t->next = NULL;
	if (*tail)
		(*tail)->next = t;
	else
		*head = t;
	*tail = t;
}

/* Under the lock: hand t back and wake the caller's loop. */
static void finish_locked(struct db_pool *p, struct db_task *t)
{
	uint64_t one = 1;

	push(&p->done, &p->done_tail, t);
	/* The counter only signals; a full counter (never, at 2^64) or
	   EAGAIN still leaves the fd readable. */
	if (write(p->efd, &one, sizeof one) < 0 && errno != EAGAIN)
		abort();
}

static void *worker_main(void *arg)
{
	struct db_pool *p = ((struct worker_arg *)arg)->p;
	struct db *db = ((struct worker_arg *)arg)->db;
	struct db_task *t;

	free(arg);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && !p->todo)
			pthread_cond_wait(&p->wake, &p->lock);
		if (p->stop)
			break;
		t = p->todo;
		p->todo = t->next;
		if (!p->todo)
			p->todo_tail = NULL;
		pthread_mutex_unlock(&p->lock);

		db->err[0] = '\0';
		t->rc = t->run(db, t);
		if (t->rc != 0)
			snprintf(t->err, sizeof t->err, "%s", db_errmsg(db));

		pthread_mutex_lock(&p->lock);
		finish_locked(p, t);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int db_pool_new(const struct db *db, size_t n, struct db_pool **out,
		char *err, size_t errlen)
{
	struct db_pool *p = calloc(1, sizeof *p);
	int ret = CDS_ENOMEM;

	*out = NULL;
	if (!p)
		goto fail;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->threads = calloc(n, sizeof *p->threads);
	if ((p->dbs = calloc(n, sizeof *p->dbs)))
		p->n_dbs = n;
	if (p->efd < 0 || !p->threads || !p->dbs) {
		snprintf(err, errlen, "database threads: %s",
			 p->efd < 0 ? strerror(errno) : "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if ((ret = db_open(db->conninfo, &p->dbs[i], err, errlen)) != 0)
			goto fail;
		p->dbs[i]->lease_ms = db->lease_ms;
		/* db_open turned JIT off (db/db.c) */
	}
	for (; p->n < n; p->n++) {
		struct worker_arg *a = malloc(sizeof *a);

		if (!a) {
			ret = CDS_ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		*a = (struct worker_arg){p, p->dbs[p->n]};
		if ((errno = pthread_create(&p->threads[p->n], NULL,
					    worker_main, a)) != 0) {
			free(a);
			ret = CDS_ENOMEM;
			snprintf(err, errlen, "database threads: %s",
				 strerror(errno));
			goto fail;
		}
	}
	*out = p;
	return CDS_OK;
fail:
	if (ret == CDS_ENOMEM && !p)
		snprintf(err, errlen, "out of memory");
	db_pool_free(p);
	return ret;
}

void db_pool_submit(struct db_pool *p, struct db_task *t, bool first)
{
	t->rc = 0;
	t->err[0] = '\0';
	pthread_mutex_lock(&p->lock);
	if (p->stop) {
		t->rc = CDS_ECANCELED;
		finish_locked(p, t);
	} else if (first) {
		t->next = p->todo;
		p->todo = t;
		if (!p->todo_tail)
			p->todo_tail = t;
	} else {
		push(&p->todo, &p->todo_tail, t);
	}
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

int db_pool_fd(const struct db_pool *p)
{
	return p->efd;
}

size_t db_pool_reap(struct db_pool *p)
{
	struct db_task *list, *t;
	uint64_t count;
	size_t n = 0;

	pthread_mutex_lock(&p->lock);
	/* Read the counter under the lock: a task finishing after this
	   write()s again, so the fd stays readable for it. */
	if (read(p->efd, &count, sizeof count) < 0 && errno != EAGAIN)
		abort();
	list = p->done;
	p->done = p->done_tail = NULL;
	pthread_mutex_unlock(&p->lock);
	while ((t = list)) {
		list = t->next;
		t->next = NULL;
		t->done(t);
		n++;
	}
	return n;
}

void db_pool_cancel(struct db_pool *p)
{
	struct db_task *t;

	pthread_mutex_lock(&p->lock);
	p->stop = true;
	while ((t = p->todo)) {
		p->todo = t->next;
		t->rc = CDS_ECANCELED;
		finish_locked(p, t);
	}
	p->todo_tail = NULL;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

void db_pool_free(struct db_pool *p)
{
	if (!p)
		return;
	if (p->efd >= 0) {
		db_pool_cancel(p);
		for (size_t i = 0; i < p->n; i++)
			pthread_join(p->threads[i], NULL);
		db_pool_reap(p);
		close(p->efd);
	}
	/* every connection opened, whether a thread got it or not */
	for (size_t i = 0; i < p->n_dbs; i++)
		db_close(p->dbs[i]);
	free(p->dbs);
	free(p->threads);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
