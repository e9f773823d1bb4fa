/*
 * store_ch.h - running a command on a ClickHouse store (`--db
 * clickhouse://HOST:PORT/DATABASE`): the command's own SQLite code on a
 * scratch database that store/clickhouse_sync.h fills from the store
 * before and ships back after (ingest commands).  main.c calls it instead
 * of opening a SQLite file.
 */
#ifndef CACHEGC_CLI_STORE_CH_H
#define CACHEGC_CLI_STORE_CH_H

#include "cli/cmd.h"

/* Run c (argv[0] its name) on the store at url.  Returns the exit status. */
int ch_run_command(const struct cmd *c, const char *url, int argc, char **argv);

#endif
