/*
 * A main() for the fuzz targets without libFuzzer: feeds every file named
 * on the command line (directories are read one level deep) to
 * LLVMFuzzerTestOneInput once. `make check` builds each target with the
 * ordinary compiler and this driver and replays the seed corpus and every
 * input that once crashed (tests/fuzz/regress/TARGET/), so that a fixed
 * crash stays fixed on machines without clang. Prints "replayed N".
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	int rc = -1;

	if (!fp)
		goto out;
	if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0)
		goto out;
	/* one more byte so that an empty file still has a buffer */
	if (!(buf = malloc((size_t)n + 1)))
		goto out;
	if (fread(buf, 1, (size_t)n, fp) != (size_t)n)
		goto out;
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "replay: cannot read %s\n", path);
	free(buf);
	if (fp)
		fclose(fp);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: no %s\n", argv[i]);
			bad = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= replay_file(argv[i]) != 0;
			count++;
			continue;
		}
		if (!(d = opendir(argv[i]))) {
			bad = 1;
			continue;
		}
		while ((e = readdir(d))) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
			bad |= replay_file(path) != 0;
			count++;
		}
		closedir(d);
	}
	printf("replayed %lu\n", count);
	return bad;
}
