/*
 * test_s3list.c - the ListObjectsV2 reader, S3 error documents, S3
 * timestamps and the AWS credentials file (nix/s3list.h).
 */
#include <stdlib.h>
#include <string.h>

#include "nix/s3list.h"
#include "lib/util.h"
#include "harness.h"

static int parse(const char *doc, struct s3_list_page *p, struct parse_error *e)
{
	return s3_list_parse(doc, strlen(doc), p, e);
}

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	     "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
#define OBJ(k, s) "<Contents><Key>" k "</Key><LastModified>2024-05-01T12:00:00.000Z" \
		  "</LastModified><ETag>&quot;abc&quot;</ETag><Size>" s "</Size>"     \
		  "<StorageClass>STANDARD</StorageClass></Contents>"

TEST(list_page)
{
	struct s3_list_page p;
	struct parse_error e;
	int64_t t;

	CHECK(parse(HEAD "<Name>b</Name><Prefix>pre/</Prefix><KeyCount>2</KeyCount>"
		    "<MaxKeys>2</MaxKeys><IsTruncated>false</IsTruncated>"
		    OBJ("pre/aaa.narinfo", "512") OBJ("pre/nar/x.nar.xz", "9000000000")
		    "</ListBucketResult>", &p, &e) == 0);
	CHECK_INT(p.n, 2);
	CHECK_INT(p.truncated, 0);
	CHECK(p.next_token == NULL);
	CHECK_STR(p.obj[0].key, "pre/aaa.narinfo");
	CHECK_INT(p.obj[0].size, 512);
	CHECK_INT(p.obj[1].size, 9000000000LL);
	CHECK_STR(p.obj[0].etag, "\"abc\"");
	CHECK(s3_parse_time("2024-05-01T12:00:00Z", 20, &t) == 0);
	CHECK_INT(p.obj[0].last_modified, t);
	CHECK_INT(t, 1714564800);
	s3_list_page_release(&p);
}

TEST(list_truncated_and_entities)
{
	struct s3_list_page p;
	struct parse_error e;

	CHECK(parse(HEAD "<NextContinuationToken>1aO+a/b==</NextContinuationToken>"
		    "<IsTruncated>true</IsTruncated>"
		    OBJ("a&amp;b&lt;c&gt;&apos;&quot;&#38;&#x41;&#xe9;", "0")
		    "<CommonPrefixes><Prefix>x/</Prefix></CommonPrefixes>"
		    "</ListBucketResult>", &p, &e) == 0);
	CHECK_INT(p.truncated, 1);
	CHECK_STR(p.next_token, "1aO+a/b==");
	CHECK_INT(p.n, 1);
	CHECK_STR(p.obj[0].key, "a&b<c>'\"&A\xc3\xa9");
	s3_list_page_release(&p);
	/* an empty page, a self-closed element, whitespace between elements */
	CHECK(parse(HEAD "\n  <IsTruncated>false</IsTruncated>\n  <Prefix/>\n</ListBucketResult>\n",
		    &p, &e) == 0);
	CHECK_INT(p.n, 0);
	s3_list_page_release(&p);
}

static void refused(const char *doc, const char *want)
{
	struct s3_list_page p;
	struct parse_error e = {{0}, 0};

	CHECK(parse(doc, &p, &e) == -1);
	if (!strstr(e.msg, want))
		fprintf(stderr, "message '%s', want '%s'\n", e.msg, want);
	CHECK(strstr(e.msg, want) != NULL);
	s3_list_page_release(&p);
}

TEST(list_refused)
{
	refused(HEAD OBJ("k", "1") "</ListBucketResult>", "without <IsTruncated>");
	refused(HEAD "<IsTruncated>true</IsTruncated></ListBucketResult>",
		"without <NextContinuationToken>");
	refused(HEAD "<IsTruncated>yes</IsTruncated></ListBucketResult>", "neither true nor false");
	refused(HEAD "<IsTruncated>false</IsTruncated><Contents><Size>1</Size>"
		"<LastModified>2024-05-01T12:00:00Z</LastModified></Contents></ListBucketResult>",
		"without <Key>");
	refused(HEAD "<IsTruncated>false</IsTruncated>" OBJ("k", "-1") "</ListBucketResult>",
		"not a byte count");
	refused(HEAD "<IsTruncated>false</IsTruncated>" OBJ("k", "99999999999999999999")
		"</ListBucketResult>", "not a byte count");
	refused(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>1</Size>"
		"<LastModified>2024-02-30T00:00:00Z</LastModified></Contents></ListBucketResult>",
		"not an S3 timestamp");
	refused(HEAD "<IsTruncated>false</IsTruncated>" OBJ("a&bogus;", "1") "</ListBucketResult>",
		"unknown entity");
	refused(HEAD "<IsTruncated>false</IsTruncated>" OBJ("a&#0;", "1") "</ListBucketResult>",
		"NUL or a surrogate");
	refused(HEAD "<IsTruncated>false</IsTruncated>" OBJ("a & b", "1") "</ListBucketResult>",
		"starts no entity");
	refused(HEAD "<!-- x --><IsTruncated>false</IsTruncated></ListBucketResult>", "comment");
	refused(HEAD "<IsTruncated>false</IsTruncated></ListBucketResul>", "does not match");
	refused(HEAD "<IsTruncated>false</IsTruncated>", "before its elements are closed");
	refused(HEAD "<IsTruncated>false</IsTruncated></ListBucketResult><x/>", "second root");
	refused(HEAD "junk<IsTruncated>false</IsTruncated></ListBucketResult>",
		"text between elements");
	refused("<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code></Error>",
		"an S3 error document");
	refused("", "no element");
	refused("<a b=c></a>", "without quotes");
	{
		struct strbuf sb = STRBUF_INIT;

		strbuf_addstr(&sb, HEAD "<IsTruncated>false</IsTruncated><Contents><Key>");
		for (int i = 0; i < S3_KEY_MAX + 1; i++)
			strbuf_addch(&sb, 'k');
		strbuf_addstr(&sb, "</Key></Contents></ListBucketResult>");
		refused(sb.buf, "too long");
		strbuf_reset(&sb);
		strbuf_addstr(&sb, HEAD "<IsTruncated>false</IsTruncated>");
		for (int i = 0; i <= S3_LIST_MAX_OBJECTS; i++)
			strbuf_addstr(&sb, OBJ("k", "1"));
		strbuf_addstr(&sb, "</ListBucketResult>");
		refused(sb.buf, "more than 10000 objects");
		strbuf_reset(&sb);
		strbuf_addstr(&sb, HEAD "<IsTruncated>false</IsTruncated>");
		for (int i = 0; i < 16; i++)
			strbuf_addstr(&sb, "<a>");
		refused(sb.buf, "nested too deep");
		strbuf_release(&sb);
	}
}

TEST(error_doc)
{
	char *code, *msg;
	const char *d = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
			"SignatureDoesNotMatch</Code><Message>The request signature &amp; so on"
			"</Message><RequestId>1</RequestId></Error>";

	CHECK(s3_error_parse(d, strlen(d), &code, &msg) == 0);
	CHECK_STR(code, "SignatureDoesNotMatch");
	CHECK_STR(msg, "The request signature & so on");
	free(code);
	free(msg);
	CHECK(s3_error_parse("<html>x</html>", 14, &code, &msg) == -1);
	CHECK(code == NULL);
	CHECK(s3_error_parse("<Error><Code>x", 14, &code, &msg) == -1);
}

TEST(times)
{
	int64_t t;

	CHECK(s3_parse_time("1970-01-01T00:00:00Z", 20, &t) == 0);
	CHECK_INT(t, 0);
	CHECK(s3_parse_time("2024-02-29T23:59:59.123456Z", 27, &t) == 0);
	CHECK_INT(t, 1709251199);
	CHECK(s3_parse_time("2023-02-29T00:00:00Z", 20, &t) == -1);
	CHECK(s3_parse_time("2000-02-29T00:00:00Z", 20, &t) == 0);   /* 400: leap */
	CHECK_INT(t, 951782400);
	CHECK(s3_parse_time("2100-02-29T00:00:00Z", 20, &t) == -1);  /* 100: not */
	CHECK(s3_parse_time("2024-05-01T12:00:00+01:00", 25, &t) == -1);
	CHECK(s3_parse_time("2024-05-01T12:00:00.Z", 21, &t) == -1);
	CHECK(s3_parse_time("2024-05-01 12:00:00Z", 20, &t) == -1);
}

TEST(credentials)
{
	struct aws_keys k;
	struct parse_error e;
	const char *f = "# comment\n[default]\naws_access_key_id = AKIADEF\n"
			"aws_secret_access_key=secret/def+1\n\n"
			"[ci]\r\n AWS_Access_Key_ID = AKIACI \r\naws_secret_access_key = s3cr3t\r\n"
			"aws_session_token = tok==\r\n; more\n[empty]\naws_access_key_id = x\n";

	CHECK(aws_credentials_parse(f, strlen(f), "default", &k, &e) == 1);
	CHECK_STR(k.access_key, "AKIADEF");
	CHECK_STR(k.secret_key, "secret/def+1");
	CHECK(k.session_token == NULL);
	aws_keys_release(&k);
	CHECK(aws_credentials_parse(f, strlen(f), "ci", &k, &e) == 1);
	CHECK_STR(k.access_key, "AKIACI");
	CHECK_STR(k.secret_key, "s3cr3t");
	CHECK_STR(k.session_token, "tok==");
	aws_keys_release(&k);
	CHECK(aws_credentials_parse(f, strlen(f), "nope", &k, &e) == 0);
	CHECK(strstr(e.msg, "no profile [nope]") != NULL);
	CHECK(aws_credentials_parse(f, strlen(f), "empty", &k, &e) == 0);
	CHECK(strstr(e.msg, "aws_secret_access_key") != NULL);
	CHECK(k.access_key == NULL);
	CHECK(aws_credentials_parse("[a\nx=y\n", 7, "a", &k, &e) == -1);
	CHECK_INT(e.line, 1);
	CHECK(aws_credentials_parse("[a]\njunk\n", 9, "a", &k, &e) == -1);
	CHECK_INT(e.line, 2);
}

int main(void)
{
	RUN(list_page);
	RUN(list_truncated_and_entities);
	RUN(list_refused);
	RUN(error_doc);
	RUN(times);
	RUN(credentials);
	return test_summary();
}
