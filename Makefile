# cachegc - plain GNU Makefile.  `make`, `make check`, `make demo`,
# `make SANITIZE=address,undefined check`, `make bench`; any of them with
# CC=clang (clang's sanitizers see what gcc's miss: CI runs both).
CC      ?= cc
PKGS    := sqlite3 libcurl jansson zlib libcrypto
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wwrite-strings -Wvla
# clang's -Wstring-concatenation guesses that an array of strings whose
# entries are split over several literals lacks a comma; the statement
# tables (store/stmt.h) are designated initializers, one entry per [Q_X].
ifneq ($(findstring clang,$(shell $(CC) --version 2>/dev/null | head -1)),)
WARN    += -Wno-string-concatenation
endif
ifdef WERROR
WARN    += -Werror
endif

# The build directory, B=DIR to choose another: one per compiler and per
# sanitized or not, so objects of gcc and clang never mix in one library
# (build, build-san, build-clang, build-clang-san).
ifneq ($(findstring clang,$(notdir $(firstword $(CC)))),)
CCDIR   := -clang
endif
ifdef SANITIZE
B       ?= build$(CCDIR)-san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else
B       ?= build$(CCDIR)
SANFLAGS :=
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ALL_CPPFLAGS = -Iinclude -I$(B) -D_GNU_SOURCE $(PKG_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS   = $(WARN) $(CFLAGS) $(SANFLAGS) -pthread -MMD -MP
ALL_LDFLAGS  = $(SANFLAGS) $(LDFLAGS)
LIBS         = $(PKG_LIBS) -lm -pthread

# Sources live in one folder per layer (src/lib, src/nix, src/store,
# src/ingest, src/analysis, src/gen, src/cli); objects mirror that tree.
SRC      := $(sort $(shell find src -name '*.c'))
LIB_SRC  := $(filter-out src/cli/main.c,$(SRC))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(B)/%.o) $(B)/sql_embed.o $(B)/ch_sql_embed.o $(B)/reports_embed.o
SQL      := $(sort $(wildcard sql/*.sql))
CH_SQL   := $(sort $(wildcard sql/clickhouse/*.sql))
REPORTS  := $(sort $(wildcard reports/*))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(B)/tests/%)
BIN      := $(B)/cachegc
# cachegc(1) and the bash completion, written by the built binary from its
# command and option tables (src/cli/doc_*.c), so they match --help.
MAN      := $(B)/cachegc.1
BASHCOMP := $(B)/cachegc.bash

# make install: PREFIX, DESTDIR and the directories below, as usual.
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
INSTALL     ?= install

.PHONY: all check demo deps bench clean unit-tests fuzz install uninstall

all: $(BIN) $(MAN) $(BASHCOMP)
	@ln -sf $(BIN) cachegc

# The page's date: $SOURCE_DATE_EPOCH (dpkg-buildpackage sets it from
# debian/changelog), else the last commit's, else today.
$(MAN): $(BIN)
	SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null)} \
		$(BIN) --man > $@.tmp && mv $@.tmp $@

$(BASHCOMP): $(BIN)
	$(BIN) --completion=bash > $@.tmp && mv $@.tmp $@

install: $(BIN) $(MAN) $(BASHCOMP)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 755 $(BIN) $(DESTDIR)$(BINDIR)/cachegc
	$(INSTALL) -m 644 $(MAN) $(DESTDIR)$(MANDIR)/man1/cachegc.1
	$(INSTALL) -m 644 $(BASHCOMP) $(DESTDIR)$(BASHCOMPDIR)/cachegc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cachegc $(DESTDIR)$(MANDIR)/man1/cachegc.1 \
		$(DESTDIR)$(BASHCOMPDIR)/cachegc

$(B)/%.o: src/%.c | $(B)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/sql_embed.c: $(SQL) tools/embed-sql.sh | $(B)
	sh tools/embed-sql.sh $(SQL) > $@.tmp && mv $@.tmp $@

# The schema text is one long literal per migration; C11 only promises 4095.
$(B)/sql_embed.o: $(B)/sql_embed.c
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-overlength-strings -c -o $@ $<

# The tables of a ClickHouse store (sql/clickhouse), embedded the same way.
$(B)/ch_sql_embed.c: $(CH_SQL) tools/embed-sql.sh | $(B)
	SYM=ch_schema sh tools/embed-sql.sh $(CH_SQL) > $@.tmp && mv $@.tmp $@

$(B)/ch_sql_embed.o: $(B)/ch_sql_embed.c
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-overlength-strings -c -o $@ $<

# The report's gnuplot scripts and style (reports/), embedded the same way.
$(B)/reports_embed.c: $(REPORTS) tools/embed-reports.sh | $(B)
	sh tools/embed-reports.sh $(REPORTS) > $@.tmp && mv $@.tmp $@

$(B)/reports_embed.o: $(B)/reports_embed.c
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(B)/libcachegc.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(B)/cli/main.o $(B)/libcachegc.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(B)/cli/main.o $(B)/libcachegc.a $(LIBS)

$(B)/tests/%.o: tests/unit/%.c | $(B)/tests
	$(CC) $(ALL_CPPFLAGS) -Itests/unit $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/%: $(B)/tests/%.o $(B)/libcachegc.a
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(B)/libcachegc.a $(LIBS)

$(B)/tests/%.o: tests/tools/%.c | $(B)/tests
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B) $(B)/tests:
	mkdir -p $@

unit-tests: $(UNIT_BIN) $(TOOL_BIN)

deps:
	@sh tools/deps.sh $(if $(filter check,$(MAKECMDGOALS)),test,build)

# VALGRIND=1: run every cachegc and unit-test process under valgrind's
# memcheck; a leak or memory error fails the test that ran it.
ifdef VALGRIND
CHECK_WRAP := valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
endif

check: deps
	$(MAKE) --no-print-directory all unit-tests
	@CACHEGC=$(abspath $(BIN)) BUILD=$(abspath $(B)) CACHEGC_WRAP="$(CHECK_WRAP)" sh tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh $(abspath $(BIN))

bench: all
	@sh bench/run.sh $(abspath $(BIN))

# libFuzzer harness for the narinfo parser (needs clang).
fuzz:
	$(MAKE) --no-print-directory CC=clang SANITIZE=fuzzer,address,undefined B=build-fuzz build-fuzz/fuzz_narinfo

build-fuzz/fuzz_narinfo: tests/fuzz/fuzz_narinfo.c src/nix/narinfo.c src/nix/nixhash.c src/lib/util.c
	mkdir -p build-fuzz
	clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iinclude -D_GNU_SOURCE -o $@ $^

clean:
	rm -rf build build-san build-clang build-clang-san build-fuzz build-deb cachegc $(filter build-%,$(B))

-include $(shell find $(B) -name '*.d' 2>/dev/null)
