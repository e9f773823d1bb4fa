/*
 * parselines MANIFEST - the floor under `cachegc import-eval --manifest`:
 * for every file the manifest names (its first tab-separated field,
 * relative to the manifest's directory), read it line by line and parse
 * each line with jansson as import-eval does (JSON_REJECT_DUPLICATES),
 * doing nothing with the result.  Prints the lines parsed.  bench/import.sh
 * times it beside import-eval.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	char *mline = NULL, *line = NULL, *dir, *slash;
	size_t malloc_ = 0, lalloc = 0;
	unsigned long long lines = 0, bad = 0;
	ssize_t n;
	FILE *m;

	if (argc != 2 || !(m = fopen(argv[1], "r"))) {
		fprintf(stderr, "usage: parselines MANIFEST\n");
		return 2;
	}
	dir = strdup(argv[1]);
	slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	else
		dir[0] = '\0';
	while (getline(&mline, &malloc_, m) > 0) {
		char path[8192], *tab = strchr(mline, '\t');
		FILE *f;
		if (mline[0] == '#' || !tab)
			continue;
		*tab = '\0';
		snprintf(path, sizeof(path), "%s%s", mline[0] == '/' ? "" : dir, mline);
		if (!(f = fopen(path, "r"))) {
			perror(path);
			return 1;
		}
		while ((n = getline(&line, &lalloc, f)) > 0) {
			json_error_t je;
			json_t *v = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &je);
			if (v)
				lines++;
			else
				bad++;
			json_decref(v);
		}
		fclose(f);
	}
	printf("%llu lines parsed, %llu not JSON\n", lines, bad);
	free(line);
	free(mline);
	free(dir);
	fclose(m);
	return 0;
}
