/*
 * nixhash.c - nix32/base16/base64 codecs and store-path syntax.
 *
 * nix32 is Nix's base-32: alphabet without e, o, t, u, and the digest is
 * read from its last 5-bit group to its first, so the first character of a
 * 52-char sha256 carries only the top 1 bit (it is always 0 or 1).
 */
#include "nix/nixhash.h"

#include <string.h>

#include "lib/util.h"

static const char nix32_chars[] = NIX32_ALPHABET;

/*
 * Byte -> nix32 digit, -1 for bytes outside the alphabet.  A constant table
 * rather than one filled on first use: filling it lazily raced when two
 * threads decoded their first hash at the same time.
 */
static const signed char nix32_digit[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -1, -1, -1, -1, -1,        /* 0x30 '0'-'9' */
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, 10, 11, 12, 13, -1, 14, 15, 16, 17, 18, 19, 20, 21, 22, -1, /* 0x60 'a'-'o' */
	23, 24, 25, 26, -1, -1, 27, 28, 29, 30, 31, -1, -1, -1, -1, -1, /* 0x70 'p'-'z' */
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int nix32_value(unsigned char c)
{
	return nix32_digit[c];
}

size_t nix32_len(size_t nbytes)
{
	return nbytes ? (nbytes * 8 - 1) / 5 + 1 : 0;
}

void nix32_encode(const unsigned char *in, size_t n, char *out)
{
	size_t len = nix32_len(n);

	for (size_t k = 0; k < len; k++) {
		size_t pos = len - 1 - k;   /* 5-bit group index, from the top */
		size_t b = pos * 5, i = b / 8, j = b % 8;
		unsigned c = in[i] >> j;
		if (i + 1 < n)
			c |= (unsigned)in[i + 1] << (8 - j);
		out[k] = nix32_chars[c & 0x1f];
	}
}

int nix32_decode(const char *in, size_t len, unsigned char *out, size_t n)
{
	if (len != nix32_len(n))
		return -1;
	memset(out, 0, n);
	for (size_t k = 0; k < len; k++) {
		int v = nix32_value((unsigned char)in[k]);
		size_t pos = len - 1 - k, b = pos * 5, i = b / 8, j = b % 8;
		if (v < 0)
			return -1;
		out[i] |= (unsigned char)((unsigned)v << j);
		if (i + 1 < n)
			out[i + 1] |= (unsigned char)((unsigned)v >> (8 - j));
		else if ((unsigned)v >> (8 - j))
			return -1;  /* bits beyond the digest must be zero */
	}
	return 0;
}

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void base64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = b64chars[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
}

/* b64_digit[c]: c's value in base64 plus one, 0 for a byte that is not a
 * base64 digit. */
static const unsigned char b64_digit[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7,
	['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
	['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
	['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26,
	['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33,
	['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
	['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47,
	['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52,
	['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59,
	['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

int base64_decode(const char *in, size_t len, unsigned char *out, size_t outcap,
		  size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, pad = 0, i = 0, full;
	unsigned acc = 0;
	int bits = 0;

	if (len % 4)
		return -1;
	while (pad < 2 && len > 0 && in[len - 1] == '=') {
		len--;
		pad++;
	}
	/* Whole groups of four digits: three bytes each, one check per
	 * group (a digit's value is b64_digit - 1, so a 0 marks a bad one). */
	full = len / 4 * 4;
	if (full / 4 * 3 > outcap)
		return -1;
	for (; i < full; i += 4) {
		unsigned a = b64_digit[s[i]], b = b64_digit[s[i + 1]];
		unsigned c = b64_digit[s[i + 2]], d = b64_digit[s[i + 3]];
		unsigned v;
		if (!a || !b || !c || !d)
			return -1;
		v = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6 | (d - 1);
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	for (; i < len; i++) {
		unsigned v = b64_digit[s[i]];
		if (!v)
			return -1;
		acc = (acc << 6) | (v - 1);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outcap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)  /* non-canonical trailing bits */
		return -1;
	*outlen = o;
	return 0;
}

static const struct {
	const char *name;
	enum hash_algo algo;
	unsigned len;
} algos[] = {
	{"md5", HASH_MD5, 16},
	{"sha1", HASH_SHA1, 20},
	{"sha256", HASH_SHA256, 32},
	{"sha512", HASH_SHA512, 64},
};

const char *nixhash_algo_name(enum hash_algo a)
{
	for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++)
		if (algos[i].algo == a)
			return algos[i].name;
	return "?";
}


int nix_base64_decode(const char *in, size_t len, unsigned char *out, size_t outcap,
		      size_t *outlen)
{
	unsigned acc = 0, bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned v;

		if (in[i] == '=')
			break;
		if (in[i] == '\n')
			continue;
		if (!(v = b64_digit[(unsigned char)in[i]]))
			return -1;
		acc = (acc << 6 | (v - 1)) & 0xffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outcap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*outlen = o;
	return 0;
}

int nixhash_parse(const char *s, size_t len, struct nixhash *out)
{
	size_t i, nlen = 0;
	int sri = 0;
	const char *v;
	size_t vlen, got;

	for (i = 0; i < len; i++) {
		if (s[i] == ':' || s[i] == '-') {
			sri = s[i] == '-';
			nlen = i;
			break;
		}
	}
	if (i == len)
		return -1;
	for (i = 0; i < sizeof(algos) / sizeof(algos[0]); i++)
		if (strlen(algos[i].name) == nlen && !memcmp(s, algos[i].name, nlen))
			break;
	if (i == sizeof(algos) / sizeof(algos[0]))
		return -1;
	out->algo = algos[i].algo;
	out->len = algos[i].len;
	v = s + nlen + 1;
	vlen = len - nlen - 1;
	if (sri) {
		if (base64_decode(v, vlen, out->bytes, out->len, &got) || got != out->len)
			return -1;
		return 0;
	}
	if (vlen == nix32_len(out->len))
		return nix32_decode(v, vlen, out->bytes, out->len);
	if (vlen == out->len * 2) {
		for (size_t k = 0; k < out->len; k++) {
			int hi = hex_value((unsigned char)v[2 * k]);
			int lo = hex_value((unsigned char)v[2 * k + 1]);
			if (hi < 0 || lo < 0)
				return -1;
			out->bytes[k] = (unsigned char)(hi << 4 | lo);
		}
		return 0;
	}
	if (vlen == base64_len(out->len)) {
		if (base64_decode(v, vlen, out->bytes, out->len, &got) || got != out->len)
			return -1;
		return 0;
	}
	return -1;
}

size_t nixhash_format(const struct nixhash *h, char *buf, size_t bufsz)
{
	const char *name = NULL;
	size_t nl, el;

	for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++)
		if (algos[i].algo == h->algo)
			name = algos[i].name;
	if (!name)
		return 0;
	nl = strlen(name);
	el = nix32_len(h->len);
	if (nl + 1 + el + 1 > bufsz)
		return 0;
	memcpy(buf, name, nl);
	buf[nl] = ':';
	nix32_encode(h->bytes, h->len, buf + nl + 1);
	buf[nl + 1 + el] = '\0';
	return nl + 1 + el;
}

size_t nixhash_format_sri(const struct nixhash *h, char *buf, size_t bufsz)
{
	const char *name = nixhash_algo_name(h->algo);
	size_t nl = strlen(name), el = base64_len(h->len);

	if (*name == '?' || nl + 1 + el + 1 > bufsz)
		return 0;
	memcpy(buf, name, nl);
	buf[nl] = '-';
	base64_encode(h->bytes, h->len, buf + nl + 1);   /* writes the NUL */
	return nl + 1 + el;
}

int nix32_digits_valid(const char *s, size_t len)
{
	int bad = 0;

	/* No branch per byte: a digit is 0..31, anything else -1. */
	for (size_t i = 0; i < len; i++)
		bad |= nix32_value((unsigned char)s[i]);
	return bad >= 0;
}

int store_hash_valid(const char *s, size_t len)
{
	return len == STORE_HASH_LEN && nix32_digits_valid(s, len);
}

/* name_char[c]: c may appear in a store path name. */
static const unsigned char name_char[256] = {
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
	['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
	['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
	['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
	['7'] = 1, ['8'] = 1, ['9'] = 1,
	['+'] = 1, ['-'] = 1, ['.'] = 1, ['_'] = 1, ['?'] = 1, ['='] = 1,
};

int store_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > STORE_NAME_MAX || s[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!name_char[(unsigned char)s[i]])
			return 0;
	return 1;
}

int store_basename_valid(const char *s, size_t len)
{
	return len > STORE_HASH_LEN + 1 && s[STORE_HASH_LEN] == '-' &&
	       store_hash_valid(s, STORE_HASH_LEN) &&
	       store_name_valid(s + STORE_HASH_LEN + 1, len - STORE_HASH_LEN - 1);
}
