/*
 * test_tsv.c - unit tests of lib/tsv.c: ClickHouse's TabSeparated
 * escaping, a round trip of every byte through the writer and the reader,
 * NULL, and malformed escapes refused; and the clickhouse:// URL parser.
 */
#include <string.h>

#include "harness.h"
#include "lib/tsv.h"
#include "store/clickhouse.h"

TEST(escape_as_clickhouse)
{
	struct strbuf sb = STRBUF_INIT;

	tsv_escape(&sb, "a\tb\nc\\d'e\r", 10);
	CHECK_STR(sb.buf, "a\\tb\\nc\\\\d\\'e\\r");
	strbuf_release(&sb);
}

TEST(round_trip_every_byte)
{
	char raw[256];
	struct strbuf sb = STRBUF_INIT;
	struct tsv_field f[3];

	for (int i = 0; i < 256; i++)
		raw[i] = (char)i;
	strbuf_addstr(&sb, "x\t");
	tsv_escape(&sb, raw, sizeof(raw));
	strbuf_addstr(&sb, "\t\\N");
	strbuf_grow(&sb, 1);
	CHECK_INT(tsv_split(sb.buf, sb.len, f, 3), 3);
	CHECK_STR(f[0].s, "x");
	CHECK_INT(f[1].len, 256);
	CHECK(!memcmp(f[1].s, raw, 256));
	CHECK(!f[1].null);
	CHECK(f[2].null);
	strbuf_release(&sb);
}

TEST(reader_forms)
{
	char a[] = "\\x41\\e\\a\t\t";
	char b[] = "bad\\";
	char c[] = "bad\\x4";
	char d[] = "1\t2\t3";
	struct tsv_field f[2];

	CHECK_INT(tsv_split(a, strlen(a), f, 2), 3);
	CHECK_STR(f[0].s, "A\033\a");
	CHECK_INT(f[1].len, 0);
	CHECK_INT(tsv_split(b, strlen(b), f, 2), -1);
	CHECK_INT(tsv_split(c, strlen(c), f, 2), -1);
	CHECK_INT(tsv_split(d, strlen(d), f, 2), 3);  /* counts past max */
}

static int url_ok(const char *url, const char *host, unsigned port, const char *db)
{
	struct ch ch;
	int ok;

	if (ch_open(&ch, url))
		return 0;
	ok = !strcmp(ch.host, host) && ch.port == port && !strcmp(ch.database, db);
	ch_close(&ch);
	return ok;
}

static int url_refused(const char *url)
{
	struct ch ch;

	if (!ch_open(&ch, url)) {
		ch_close(&ch);
		return 0;
	}
	return 1;
}

TEST(urls)
{
	CHECK(url_ok("clickhouse://127.0.0.1:8124/cg", "127.0.0.1", 8124, "cg"));
	CHECK(url_ok("clickhouse://db.example/nix_2", "db.example", 8123, "nix_2"));
	CHECK(url_ok("clickhouse://[::1]:9/x", "[::1]", 9, "x"));
	CHECK(url_refused("clickhouse://h:1"));
	CHECK(url_refused("clickhouse://:1/x"));
	CHECK(url_refused("clickhouse://h:0/x"));
	CHECK(url_refused("clickhouse://h:65536/x"));
	CHECK(url_refused("clickhouse://h:x/x"));
	CHECK(url_refused("clickhouse://h/a-b"));
	CHECK(url_refused("clickhouse://h/1a"));
	CHECK(url_refused("clickhouse://u@h/x"));
	CHECK(url_refused("clickhouse://[::1/x"));
	CHECK(url_refused("clickhouse://h/"));
}

int main(void)
{
	RUN(escape_as_clickhouse);
	RUN(round_trip_every_byte);
	RUN(reader_forms);
	RUN(urls);
	return test_summary();
}
