/*
 * cmd.c - helpers shared by the src/cli/cmd_*.c files (see cmd.h).
 */
#include <stdarg.h>

#include "cli/cmd.h"

void cmd_print_usage(const struct cmd *c, FILE *f)
{
	print_options_help(c->options, f);
}

int cmd_usage_error(const struct cmd *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return opt_usage_error(c->name, "%s", msg);
}
