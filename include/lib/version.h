/* version.h - the cachegc version, for --version and the HTTP User-Agent. */
#ifndef CACHEGC_VERSION_H
#define CACHEGC_VERSION_H
#define CACHEGC_VERSION "0.1.0"
#endif
