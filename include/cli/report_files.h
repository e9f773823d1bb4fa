/*
 * report_files.h - the files of the top-level reports/ folder (gnuplot
 * scripts and the page's style), embedded at build time by
 * tools/embed-reports.sh as sql/ is.
 */
#ifndef CACHEGC_REPORT_FILES_H
#define CACHEGC_REPORT_FILES_H

struct report_file {
	const char *name;      /* "coverage.gp" */
	const char *text;
};

extern const struct report_file report_files[];
extern const unsigned n_report_files;

/* The text of reports/NAME; a missing one is a bug (BUG()). */
const char *report_file_text(const char *name);

#endif
