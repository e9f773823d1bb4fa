/*
 * cmd_report_private.h - what cmd_report.c (options, data files, gnuplot)
 * and cmd_report_page.c (index.html and report.md) share.
 */
#ifndef CACHEGC_CMD_REPORT_PRIVATE_H
#define CACHEGC_CMD_REPORT_PRIVATE_H

#include <stdint.h>

#include "analysis/report.h"
#include "lib/util.h"

struct report_page {
	const struct report *r;
	const char *url;        /* the cache */
	const char *title;
	uint64_t limit;         /* 0: none */
};

/* The charts, in the order the page shows them: file stem and caption. */
#define REPORT_NCHARTS 4
extern const char *const report_chart_names[REPORT_NCHARTS];

/* index.html and report.md into sb (reset first). */
void report_page_html(const struct report_page *p, struct strbuf *sb);
void report_page_markdown(const struct report_page *p, struct strbuf *sb);

/* "branch [caps] system": a group's label, raw. */
void report_group_label(const struct report_group *g, struct strbuf *sb);

#endif
