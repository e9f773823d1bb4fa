/*
 * refs.h - the codec of the narinfos.refs column: the references of a
 * narinfo as a JSON array of paths.id, ascending, each once ("[3,17,40]",
 * "[]" for none).  SQL reads it with json_each (the refs view of
 * sql/001_init.sql); C reads and writes it only through these two
 * functions, so the format has one encoder and one decoder.
 *
 * Layer: store.  Uses lib only.
 */
#ifndef CACHEGC_REFS_H
#define CACHEGC_REFS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* Replace out's contents with the refs value of ids[0..n): sorts ids in
 * place and writes each id once. */
void refs_encode(struct strbuf *out, uint32_t *ids, size_t n);

/* Reading a refs value: refs_iter_init(&it, text) (NULL reads as "[]"),
 * then refs_next(&it, &id) until it returns 0 or -1.  refs_next returns
 * 1 with *id set, 0 at the end of a well-formed value, -1 when the text is
 * not a JSON array of integers in 0..2^32-1 (white space allowed, as JSON
 * allows): the ids given before were read, the rest is unreadable and the
 * caller reports it (it.at is the offending text).  Order is not checked. */
struct refs_iter {
	const char *at;
	int state;     /* 0 before '[', 1 after an id or '[', 2 at the end */
};

static inline void refs_iter_init(struct refs_iter *it, const char *text)
{
	it->at = text ? text : "[]";
	it->state = 0;
}

int refs_next(struct refs_iter *it, uint32_t *id);

struct db;
/* Report that path_id's refs value in db, text, cannot be read; -1. */
int refs_malformed(struct db *db, int64_t path_id, const char *text);

#endif
