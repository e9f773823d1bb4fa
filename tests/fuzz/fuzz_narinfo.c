/*
 * fuzz_narinfo.c - libFuzzer entry point for the narinfo and nix-cache-info
 * parsers (`make fuzz`, then build-fuzz/fuzz_narinfo tests/fuzz/corpus).
 *
 * Besides memory errors (ASan/UBSan), it checks properties: a failed parse
 * leaves the struct released and names a line that exists; a successful
 * parse satisfies the documented invariants, and narinfo_format() writes
 * text that parses back to the same fields and formats to the same text.
 * Whatever narinfo_parse() accepts, Nix's lexer (nix_lex_next) frames
 * without a refusal.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nix/narinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                            \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "fuzz_narinfo: %s:%d: %s\n", __FILE__,   \
				__LINE__, #cond);                                \
			abort();                                                 \
		}                                                                \
	} while (0)

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static unsigned count_lines(const uint8_t *data, size_t size)
{
	unsigned n = 0;

	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n')
			n++;
	return size && data[size - 1] != '\n' ? n + 1 : n;
}

static void check_released(const struct narinfo *ni)
{
	REQUIRE(!ni->store_path && !ni->name && !ni->url && !ni->compression);
	REQUIRE(!ni->file_hash && !ni->nar_hash && !ni->deriver && !ni->ca && !ni->system);
	REQUIRE(!ni->refs && !ni->nrefs && !ni->sigs && !ni->nsigs);
}

static void check_error(const struct narinfo_error *err, const uint8_t *data, size_t size)
{
	REQUIRE(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
	REQUIRE(err->msg[0] != '\0');
	REQUIRE(err->line <= count_lines(data, size));
}

static void check_valid(const struct narinfo *ni)
{
	REQUIRE(ni->store_path && ni->url && ni->url[0] && ni->nar_hash && ni->compression);
	REQUIRE(ni->compression[0]);
	REQUIRE(ni->nar_size > 0 && ni->file_size >= -1);
	REQUIRE(strlen(ni->hash) == STORE_HASH_LEN);
	REQUIRE(store_hash_valid(ni->hash, STORE_HASH_LEN));
	REQUIRE(store_name_valid(ni->name, strlen(ni->name)));
	REQUIRE(!strncmp(ni->name - STORE_HASH_LEN - 1, ni->hash, STORE_HASH_LEN));
	for (size_t i = 0; i < ni->nrefs; i++) {
		REQUIRE(store_basename_valid(ni->refs[i], strlen(ni->refs[i])));
		REQUIRE(i == 0 || strcmp(ni->refs[i - 1], ni->refs[i]) < 0);
	}
	if (ni->deriver)
		REQUIRE(store_basename_valid(ni->deriver, strlen(ni->deriver)));
	/* Sig: any value (a malformed one is flagged), kept as a sorted set */
	for (size_t i = 1; i < ni->nsigs; i++)
		REQUIRE(strcmp(ni->sigs[i - 1], ni->sigs[i]) < 0);
	REQUIRE(!ni->odd == !ni->odd_line);
}

static void check_same(const struct narinfo *a, const struct narinfo *b)
{
	REQUIRE(same_str(a->store_path, b->store_path));
	REQUIRE(!strcmp(a->hash, b->hash));
	REQUIRE(same_str(a->name, b->name));
	REQUIRE(same_str(a->url, b->url));
	REQUIRE(same_str(a->compression, b->compression));
	REQUIRE(same_str(a->file_hash, b->file_hash));
	REQUIRE(a->file_size == b->file_size);
	REQUIRE(same_str(a->nar_hash, b->nar_hash));
	REQUIRE(a->nar_size == b->nar_size);
	REQUIRE(a->nrefs == b->nrefs);
	for (size_t i = 0; i < a->nrefs; i++)
		REQUIRE(!strcmp(a->refs[i], b->refs[i]));
	REQUIRE(same_str(a->deriver, b->deriver));
	REQUIRE(a->nsigs == b->nsigs);
	for (size_t i = 0; i < a->nsigs; i++)
		REQUIRE(!strcmp(a->sigs[i], b->sigs[i]));
	REQUIRE(same_str(a->ca, b->ca));
	REQUIRE(same_str(a->system, b->system));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct narinfo ni, again;
	struct narinfo_error err;
	struct nix_cache_info ci;

	if (narinfo_parse(buf, size, "/nix/store", NULL, &ni, &err) == 0) {
		char *text = narinfo_format(&ni), *text2;
		size_t len = strlen(text);
		struct nix_lexer lx;
		struct nix_entry e;
		int rc;

		nix_lex_init(&lx, buf, size);
		while ((rc = nix_lex_next(&lx, &e)) == NIX_LEX_ENTRY)
			;
		REQUIRE(rc == NIX_LEX_END);

		check_valid(&ni);
		/* the output may outgrow the input (added defaults, longer hash
		 * forms); past the size limit it cannot be read back */
		if (len <= NARINFO_MAX_BYTES) {
			if (narinfo_parse(text, len, "/nix/store", ni.hash, &again, &err)) {
				fprintf(stderr, "fuzz_narinfo: reparse failed at line %u: %s\n%s",
					err.line, err.msg, text);
				abort();
			}
			check_same(&ni, &again);
			text2 = narinfo_format(&again);
			REQUIRE(!strcmp(text, text2));
			free(text2);
			narinfo_release(&again);
		}
		free(text);
		narinfo_release(&ni);
		check_released(&ni);
	} else {
		check_released(&ni);
		check_error(&err, data, size);
	}

	if (nix_cache_info_parse(buf, size, &ci, &err) == 0) {
		REQUIRE(ci.store_dir && ci.store_dir[0] == '/');
		REQUIRE(ci.want_mass_query >= -1 && ci.want_mass_query <= 1);
		/* any int when set (Nix's stoi), -1 when not */
		REQUIRE(ci.has_priority || ci.priority == -1);
		nix_cache_info_release(&ci);
	} else {
		REQUIRE(ci.store_dir == NULL);
		check_error(&err, data, size);
	}
	return 0;
}
