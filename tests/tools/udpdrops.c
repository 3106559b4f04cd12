/*
 * udpdrops: the UDP datagrams dropped for want of receive buffer during
 * a benchmark phase, per socket, from the drops column of /proc/net/udp
 * and /proc/net/udp6, sampled every 100 ms until STOPFILE exists. Then
 * one line: "server=N pid=N other=N", the drops of the sockets bound to
 * PORT, of the sockets PID holds (its /proc/PID/fd, read at every sample
 * as sockets come and go; "-" for none) and of the rest. Each socket
 * counts its last figure less its first; a socket first seen after the
 * first sample counts from 0; one that closes between two samples may
 * lose its last 100 ms.
 *
 * One process for the whole phase, run inside the namespace it
 * measures: the shell loop it replaces started five processes per
 * sample (and `ip netns exec` for every one of them in the latency run),
 * CPU that the two cores of the bench machine took from what it measures
 * (docs/BENCH.md).
 *
 * usage: udpdrops PORT PID|- STOPFILE
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 65536 /* a power of two, far above the sockets of a run */

struct sock {
	unsigned long inode; /* 0: free slot */
	unsigned long first, last;
	unsigned port;
	bool seen; /* in a table yet */
	bool mine;
};

static struct sock tab[SLOTS];

static struct sock *find(unsigned long inode)
{
	size_t i = (inode * 2654435761u) & (SLOTS - 1);

	for (size_t n = 0; n < SLOTS; n++, i = (i + 1) & (SLOTS - 1)) {
		if (tab[i].inode == inode)
			return &tab[i];
		if (tab[i].inode == 0) {
			tab[i].inode = inode;
			return &tab[i];
		}
	}
	return NULL;
}

/* One /proc/net/udp{,6} table: sl local rem st queues tr retr uid
   timeout inode ref pointer drops. */
static void sample_table(const char *path, bool first)
{
	char line[512], local[64];
	unsigned long inode, drops;
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	if (!fgets(line, sizeof line, f)) { /* the header */
		fclose(f);
		return;
	}
	while (fgets(line, sizeof line, f)) {
		struct sock *s;
		const char *colon;

		if (sscanf(line,
			   " %*s %63s %*s %*s %*s %*s %*s %*s %*s %lu %*s %*s"
			   " %lu",
			   local, &inode, &drops) != 3 ||
		    inode == 0 || !(colon = strrchr(local, ':')) ||
		    !(s = find(inode)))
			continue;
		if (!s->seen) {
			s->seen = true;
			s->first = first ? drops : 0;
			s->port = (unsigned)strtoul(colon + 1, NULL, 16);
		}
		s->last = drops;
	}
	fclose(f);
}

/* The sockets PID holds now: fd links "socket:[INODE]". */
static void sample_pid(const char *fddir)
{
	char link[320], target[64];
	struct dirent *e;
	DIR *d = opendir(fddir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		unsigned long inode;
		struct sock *s;
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof link, "%s/%s", fddir, e->d_name);
		if ((n = readlink(link, target, sizeof target - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (sscanf(target, "socket:[%lu]", &inode) != 1 ||
		    !(s = find(inode)))
			continue;
		s->mine = true; /* its figures come with the tables */
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	struct timespec tick = {0, 100 * 1000 * 1000};
	unsigned long server = 0, pid = 0, other = 0;
	char fddir[64] = "";
	unsigned port;
	bool first = true;

	if (argc != 4) {
		fprintf(stderr, "usage: udpdrops PORT PID|- STOPFILE\n");
		return 2;
	}
	port = (unsigned)strtoul(argv[1], NULL, 10);
	if (strcmp(argv[2], "-") != 0)
		snprintf(fddir, sizeof fddir, "/proc/%s/fd", argv[2]);
	for (;;) {
		/* the fd links first: a socket of PID seen in the tables
		   before its link would otherwise count as someone else's */
		if (fddir[0])
			sample_pid(fddir);
		sample_table("/proc/net/udp", first);
		sample_table("/proc/net/udp6", first);
		first = false;
		if (access(argv[3], F_OK) == 0)
			break;
		nanosleep(&tick, NULL);
	}
	for (size_t i = 0; i < SLOTS; i++) {
		const struct sock *s = &tab[i];
		unsigned long d;

		if (!s->seen)
			continue;
		d = s->last >= s->first ? s->last - s->first : 0;
		if (s->port == port)
			server += d;
		else if (s->mine)
			pid += d;
		else
			other += d;
	}
	printf("server=%lu pid=%lu other=%lu\n", server, pid, other);
	return 0;
}
