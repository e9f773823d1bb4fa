/*
 * cmd_export.c - `cachegc export`: tables of the database as files for
 * DuckDB, ClickHouse or a notebook, in ClickHouse's TabSeparated format or
 * as JSON lines (one object per row).  Rows are streamed from the
 * database (store/export.c) straight to the output: a table of 10^7 rows
 * needs no more memory than one row.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "store/db.h"
#include "store/export.h"
#include "lib/tsv.h"
#include "lib/util.h"

enum { FMT_TSV, FMT_JSONL };
static const char *const formats[] = {"tsv", "jsonl", NULL};

struct export_cli {
	int format;
	const char *output;
	int names, json;
};

static const struct option export_options[] = {
	OPT_ENUM("format", struct export_cli, format, "F", formats,
		 "tsv: ClickHouse's TabSeparated (\\t \\n \\\\ escaped, \\N for\n"
		 "NULL, a list as its items joined by spaces); jsonl: one\n"
		 "JSON object per row, lists as arrays, NULL as null"),
	OPT_PATH("output", struct export_cli, output, "DIR",
		 "write DIR/TABLE.tsv or DIR/TABLE.jsonl for each TABLE\n"
		 "(DIR is made if missing); '-' or none: standard output,\n"
		 "one TABLE only"),
	OPT_FLAG("names", 0, struct export_cli, names,
		 "tsv: a first line of column names (TabSeparatedWithNames)"),
	OPT_FLAG("json", 0, struct export_cli, json,
		 "with --output DIR: {\"format\", \"tables\": [{\"table\",\n"
		 "\"rows\", \"file\"}]} instead of a line per table"),
	OPT_HELP("this text"),
	OPT_TEXT("\n"
		 "Tables (the columns are listed in README.md; 'all' is every table):\n"
		 "  narinfos       one row per narinfo recorded, with narwal's columns\n"
		 "                 (store_path, url, compression, file_hash, file_size,\n"
		 "                 nar_hash, nar_size, references, deriver, system, ca,\n"
		 "                 signatures, last_modified_at in ms) and the cache\n"
		 "  presence       episodes of a path being in a cache\n"
		 "  refs           one row per reference of a narinfo\n"
		 "  signatures     one row per Sig line of a narinfo\n"
		 "  caches         the caches crawled\n"
		 "  crawls         each crawl and its counts\n"
		 "  crawl_rejects  narinfos a crawl refused, and why\n"
		 "  path_checks    the last answer other than present (HTTP crawls)\n"
		 "  evaluations    evaluations imported\n"
		 "  eval_jobs      their jobs, with output and .drv paths\n"
		 "  builds         build outcomes imported\n"
		 "  accesses       fetches per path and day, from access logs\n"
		 "  trusted_keys   the signing keys trusted\n"
		 "Store paths are written in full; times are seconds since the epoch\n"
		 "(UTC) but for narinfos.last_modified_at.  Text that is not UTF-8 is\n"
		 "written as U+FFFD in jsonl.\n"
		 "\n"
		 "Exit status: 0 written, 1 failed (nothing is left half-written in\n"
		 "DIR), 2 usage error (an unknown table or format).\n"),
	OPT_END(),
};

static const struct opt_parser export_parser = {
	.name = "export",
	.usage = "usage: cachegc export --format tsv|jsonl [--output DIR|-] [--names] [--json]\n"
		 "                      TABLE...\n"
		 "\n"
		 "Write tables of the database as files for DuckDB, ClickHouse or a\n"
		 "notebook, every table from one state of the database.\n"
		 "\n"
		 "options:\n",
	.opts = export_options,
	.column = 18,
};

const struct cmd cmd_export;

/* ---- writing ----------------------------------------------------------- */

struct out {
	FILE *f;
	int format;
	const struct export_table *t;
};

/* Length of the UTF-8 sequence at s[0..n) (1 to 4), or 0 if s does not
 * start one (overlong forms, surrogates and values past U+10FFFF too). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static void json_text(FILE *f, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0, i = 0;

	putc('"', f);
	while (i < n) {
		char esc[8];
		const char *e = NULL;
		size_t l = 1;

		if (u[i] == '"')
			e = "\\\"";
		else if (u[i] == '\\')
			e = "\\\\";
		else if (u[i] == '\n')
			e = "\\n";
		else if (u[i] == '\t')
			e = "\\t";
		else if (u[i] == '\r')
			e = "\\r";
		else if (u[i] < 0x20)
			snprintf(esc, sizeof(esc), "\\u%04x", u[i]), e = esc;
		else if (u[i] >= 0x80 && !(l = utf8_len(u + i, n - i)))
			e = "\\ufffd", l = 1;
		if (e) {
			fwrite(s + run, 1, i - run, f);
			fputs(e, f);
			run = i + l;
		}
		i += l;
	}
	fwrite(s + run, 1, n - run, f);
	putc('"', f);
}

/* A list (a JSON array of strings from SQLite) in TSV: its items joined by
 * single spaces, each escaped. */
static int tsv_list(struct out *o, const struct export_value *v)
{
	json_error_t err;
	json_t *a = json_loadb(v->s, v->len, 0, &err);
	size_t k;
	json_t *it;

	if (!json_is_array(a)) {
		json_decref(a);
		return error("export: a list of table '%s' is not a JSON array: %s", o->t->name,
			     err.text);
	}
	json_array_foreach(a, k, it) {
		if (k)
			putc(' ', o->f);
		if (json_is_string(it))
			tsv_escape_file(o->f, json_string_value(it), json_string_length(it));
	}
	json_decref(a);
	return 0;
}

static int write_row(void *ctx, const struct export_value *v)
{
	struct out *o = ctx;
	const struct export_table *t = o->t;

	if (o->format == FMT_JSONL)
		putc('{', o->f);
	for (unsigned k = 0; k < t->ncols; k++) {
		const struct export_value *x = &v[k];

		if (o->format == FMT_TSV) {
			if (k)
				putc('\t', o->f);
			if (x->null)
				fputs("\\N", o->f);
			else if (t->cols[k].kind == EXPORT_INT)
				fprintf(o->f, "%lld", (long long)x->i);
			else if (t->cols[k].kind == EXPORT_LIST) {
				if (tsv_list(o, x))
					return -1;
			} else
				tsv_escape_file(o->f, x->s, x->len);
			continue;
		}
		fprintf(o->f, "%s\"%s\":", k ? "," : "", t->cols[k].name);
		if (x->null)
			fputs("null", o->f);
		else if (t->cols[k].kind == EXPORT_INT)
			fprintf(o->f, "%lld", (long long)x->i);
		else if (t->cols[k].kind == EXPORT_LIST)
			fwrite(x->s, 1, x->len, o->f);   /* SQLite's JSON, well-formed */
		else
			json_text(o->f, x->s, x->len);
	}
	fputs(o->format == FMT_JSONL ? "}\n" : "\n", o->f);
	return ferror(o->f) ? -2 : 0;
}

/* One table to f; -2 when writing failed (errno says why). */
static int export_one(struct db *db, const struct export_table *t, int format, int names,
		      FILE *f, uint64_t *rows)
{
	struct out o = {f, format, t};

	if (format == FMT_TSV && names) {
		for (unsigned k = 0; k < t->ncols; k++)
			fprintf(f, "%s%s", k ? "\t" : "", t->cols[k].name);
		putc('\n', f);
	}
	return export_rows(db, t, write_row, &o, rows);
}

/* ---- the command ------------------------------------------------------- */

static int unknown_table(const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n;
	const struct export_table *all = export_tables(&n);

	for (size_t i = 0; i < n; i++)
		strbuf_addf(&sb, "%s%s", i ? ", " : "", all[i].name);
	opt_usage_error("export", "no table '%s' to export; the tables are %s, or all", name,
			sb.buf);
	strbuf_release(&sb);
	return 2;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct export_cli a = {.format = -1};
	const struct export_table **want = NULL;
	size_t nwant = 0, ntables;
	const struct export_table *all = export_tables(&ntables);
	const char *ext;
	struct strbuf path = STRBUF_INIT, tmp = STRBUF_INIT;
	json_t *summary = NULL;
	int nargs, ret = 1, to_stdout;

	if ((nargs = parse_options(&export_parser, argc, argv, &a)) < 0)
		return parse_options_exit(nargs);
	if (a.format < 0)
		return opt_usage_error("export", "--format is needed: tsv or jsonl");
	if (!nargs)
		return opt_usage_error("export", "name the tables to export (or all)");
	to_stdout = !a.output || !strcmp(a.output, "-");
	want = xcalloc((size_t)nargs * ntables, sizeof(*want));
	for (int i = 0; i < nargs; i++) {
		if (!strcmp(argv[i], "all")) {
			for (size_t k = 0; k < ntables; k++)
				want[nwant++] = &all[k];
			continue;
		}
		if (!(want[nwant] = export_table_find(argv[i]))) {
			ret = unknown_table(argv[i]);
			goto out;
		}
		nwant++;
	}
	if (to_stdout && nwant > 1) {
		ret = opt_usage_error("export", "%zu tables cannot share standard output: "
				      "give --output DIR", nwant);
		goto out;
	}
	if (to_stdout && a.json) {
		ret = opt_usage_error("export", "--json is the summary of --output DIR; "
				      "for rows as JSON use --format jsonl");
		goto out;
	}
	ext = a.format == FMT_TSV ? "tsv" : "jsonl";
	if (!to_stdout && mkdir(a.output, 0777) && errno != EEXIST) {
		error("cannot make the directory '%s': %s", a.output, strerror(errno));
		goto out;
	}
	if (db_read_begin(ctx->db))
		goto out;
	if (a.json)
		summary = json_array();
	for (size_t i = 0; i < nwant; i++) {
		const struct export_table *t = want[i];
		uint64_t rows = 0;
		FILE *f = stdout;
		int rc;

		if (!to_stdout) {
			strbuf_reset(&path);
			strbuf_reset(&tmp);
			strbuf_addf(&path, "%s/%s.%s", a.output, t->name, ext);
			strbuf_addf(&tmp, "%s/.%s.%s.tmp", a.output, t->name, ext);
			if (!(f = fopen(tmp.buf, "w"))) {
				error("cannot write '%s': %s", tmp.buf, strerror(errno));
				break;
			}
		}
		rc = export_one(ctx->db, t, a.format, a.names, f, &rows);
		if (!to_stdout) {
			if (fclose(f) && !rc)
				rc = -2;
			if (!rc && rename(tmp.buf, path.buf))
				rc = -2;
			if (rc)
				unlink(tmp.buf);
		}
		if (rc == -2) {
			if (to_stdout && errno == EPIPE)
				break;
			error("writing %s failed: %s", to_stdout ? "standard output" : path.buf,
			      strerror(errno));
		}
		if (rc)
			break;
		if (summary) {
			json_t *o = json_object();

			json_object_set_new(o, "table", json_string(t->name));
			json_object_set_new(o, "rows", json_integer((json_int_t)rows));
			json_object_set_new(o, "file", json_string(path.buf));
			json_array_append_new(summary, o);
		} else if (!to_stdout) {
			printf("%s: %llu rows to %s\n", t->name, (unsigned long long)rows,
			       path.buf);
		}
		if (i + 1 == nwant)
			ret = 0;
	}
	db_read_end(ctx->db);
	if (!ret && summary) {
		json_t *o = json_object();

		json_object_set_new(o, "format", json_string(ext));
		json_object_set_new(o, "tables", summary);
		summary = NULL;
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	}
out:
	json_decref(summary);
	free(want);
	strbuf_release(&path);
	strbuf_release(&tmp);
	return ret;
}

const struct cmd cmd_export = {
	.name = "export",
	.summary = "write tables as TSV or JSON lines for DuckDB, ClickHouse",
	.options = &export_parser,
	.db = DB_READ,
	.run = run,
};
