/*
 * harness.h - a tiny unit-test harness.  A test file defines test functions
 * with TEST(name) and a main() that RUNs them and returns test_summary().
 * Each test prints "PASS name" or "FAIL name" (tests/run.sh counts these);
 * a failed CHECK prints file:line and the expression, and the test goes on.
 */
#ifndef CACHEGC_TEST_HARNESS_H
#define CACHEGC_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

static int harness_failed_now, harness_failed_tests, harness_ran;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,   \
				__LINE__, #cond);                                \
			harness_failed_now = 1;                                  \
		}                                                                \
	} while (0)

#define CHECK_STR(a, b)                                                          \
	do {                                                                     \
		const char *ha_ = (a), *hb_ = (b);                               \
		if (!ha_ || !hb_ || strcmp(ha_, hb_)) {                          \
			fprintf(stderr, "%s:%d: %s == \"%s\", want \"%s\"\n",    \
				__FILE__, __LINE__, #a, ha_ ? ha_ : "(null)",    \
				hb_ ? hb_ : "(null)");                           \
			harness_failed_now = 1;                                  \
		}                                                                \
	} while (0)

#define CHECK_INT(a, b)                                                          \
	do {                                                                     \
		long long ha_ = (long long)(a), hb_ = (long long)(b);            \
		if (ha_ != hb_) {                                                \
			fprintf(stderr, "%s:%d: %s == %lld, want %lld\n",        \
				__FILE__, __LINE__, #a, ha_, hb_);               \
			harness_failed_now = 1;                                  \
		}                                                                \
	} while (0)

#define RUN(name)                                                                \
	do {                                                                     \
		harness_failed_now = 0;                                          \
		name();                                                          \
		harness_ran++;                                                   \
		if (harness_failed_now)                                          \
			harness_failed_tests++;                                  \
		printf("%s %s\n", harness_failed_now ? "FAIL" : "PASS", #name);  \
		fflush(stdout);                                                  \
	} while (0)

static inline int test_summary(void)
{
	return harness_failed_tests ? 1 : 0;
}

#endif
