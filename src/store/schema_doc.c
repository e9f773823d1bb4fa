/*
 * schema_doc.c - the tables and views of the embedded migrations with the
 * comment each is documented by, for cachegc(1)'s DATABASE section (see
 * store/schema.h).  Reads the SQL text only; no database.
 */
#include <string.h>

#include "store/schema.h"
#include "lib/util.h"

/* One line of text: [p, p + n). */
static size_t line_len(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl ? (size_t)(nl - p) : strlen(p);
}

static int starts(const char *p, size_t n, const char *word)
{
	size_t w = strlen(word);

	return n > w && !strncmp(p, word, w);
}

void schema_each_object(schema_object_fn fn, void *arg)
{
	struct strbuf doc = STRBUF_INIT, name = STRBUF_INIT;

	for (unsigned m = 0; m < n_migrations; m++) {
		const char *p = migrations[m].sql;
		int para_ended = 0;

		strbuf_reset(&doc);
		while (*p) {
			size_t n = line_len(p), skip = 0, e;
			const char *kind = NULL;

			if (n >= 2 && p[0] == '-' && p[1] == '-') {
				const char *c = p + 2;
				size_t cn = n - 2, k = 0;

				if (cn && *c == ' ')
					c++, cn--;
				while (k < cn && (c[k] == ' ' || c[k] == '\t'))
					k++;
				if (k == cn)
					para_ended = doc.len > 0;
				else if (!para_ended) {
					strbuf_add(&doc, c, cn);
					strbuf_addch(&doc, '\n');
				}
				p += n + (p[n] == '\n');
				continue;
			}
			if (starts(p, n, "CREATE TABLE "))
				kind = "table", skip = 13;
			else if (starts(p, n, "CREATE VIEW "))
				kind = "view", skip = 12;
			if (kind) {
				if (starts(p + skip, n - skip, "IF NOT EXISTS "))
					skip += 14;
				for (e = skip; e < n && p[e] != ' ' && p[e] != '('; e++)
					;
				strbuf_reset(&name);
				strbuf_add(&name, p + skip, e - skip);
				fn(arg, kind, name.buf, migrations[m].name, doc.len ? doc.buf : "");
			}
			/* a comment documents only the statement right after it */
			strbuf_reset(&doc);
			para_ended = 0;
			p += n + (p[n] == '\n');
		}
	}
	strbuf_release(&doc);
	strbuf_release(&name);
}
