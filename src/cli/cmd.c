/*
 * cmd.c - helpers shared by the src/cmd_*.c files (see cmd.h).
 */
#include <string.h>

#include "cli/cmd.h"

int cmd_take_opt(int argc, char **argv, int *i, const char *opt, const char **val)
{
	size_t n = strlen(opt);

	if (!strncmp(argv[*i], opt, n) && argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (strcmp(argv[*i], opt))
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}
