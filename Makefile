# paloma — build, install, test.
#
# The `paloma` command is a small front end that links only libc: it does the
# hot path for scripts (send, queue, config) itself and runs the heavy faces
# (daemon, client, sync) as helper programs from $(LIBEXECDIR), the way git
# runs git-* programs.  See doc/DESIGN.md.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/paloma
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share/paloma
DESTDIR    ?=

B      ?= build
CC     ?= cc
CFLAGS ?= -O2 -g
# snprintf truncates on purpose (messages, bounded paths): its warning is off.
WARN    = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wno-format-truncation
BASE    = -std=c11 -D_GNU_SOURCE -Isrc

# SAN=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer.
ifeq ($(SAN),1)
CFLAGS  = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# Library flags, from pkg-config where the library ships a .pc file.
pc = $(shell pkg-config $(1) $(2) 2>/dev/null)
SSL_CFLAGS      := $(call pc,--cflags,openssl)
SSL_LIBS        := $(call pc,--libs,openssl)
CARES_CFLAGS    := $(call pc,--cflags,libcares)
CARES_LIBS      := $(call pc,--libs,libcares)
DKIM_CFLAGS     := $(call pc,--cflags,opendkim)
DKIM_LIBS       := $(call pc,--libs,opendkim)
CURSES_CFLAGS   := $(call pc,--cflags,ncursesw)
CURSES_LIBS     := $(call pc,--libs,ncursesw)
# libetpan's .pc adds -specs=…no-pie-link.specs, which silently makes the
# binary non-PIE with gcc and breaks clang: drop it.
ETPAN_CFLAGS    := $(call pc,--cflags,libetpan)
ETPAN_LIBS      := $(filter-out -specs=%,$(call pc,--libs,libetpan))
GMIME_CFLAGS    := $(call pc,--cflags,gmime-3.0)
GMIME_LIBS      := $(call pc,--libs,gmime-3.0)
# libcurl: only paloma-mtasts links it (HTTPS for MTA-STS policies).
CURL_CFLAGS     := $(call pc,--cflags,libcurl)
CURL_LIBS       := $(call pc,--libs,libcurl)
PSL_LIBS        := $(call pc,--libs,libpsl)
# Debian 12's libnotmuch-dev has no .pc file.
NOTMUCH_CFLAGS  := $(call pc,--cflags,notmuch)
NOTMUCH_LIBS    := $(or $(call pc,--libs,notmuch),-lnotmuch)

# Delivery side (c-ares, OpenSSL): linked into the daemon and its tests.
NET_CFLAGS = $(CARES_CFLAGS) $(SSL_CFLAGS) $(ETPAN_CFLAGS)
NET_LIBS   = $(CARES_LIBS) $(SSL_LIBS)

ALL_CFLAGS = $(BASE) $(WARN) $(CFLAGS) $(NET_CFLAGS) -DLIBEXECDIR='"$(LIBEXECDIR)"'
# The client's modules (ui/, and the core modules only it uses) also see
# ncursesw and GMime.
UI_CFLAGS  = $(ALL_CFLAGS) $(CURSES_CFLAGS) $(GMIME_CFLAGS) -Iui

# Core objects every face uses (libc only).
CORE = util fsutil paths config secret addr message queue ctl log maildir outbox sevenbit dkim
# The front end: the scripts' hot path.
FRONT = paloma cli_send cli_queue cli_config cli_log

# Delivery modules (dns, smtp, …): one name per module in src/.
NET = smtp dns dsn report tls spf dnssync mtasts
# notmuch: only paloma-index and the tests link it, never the daemon.
INDEX = index
INDEX_O = $(INDEX:%=$(B)/src/%.o)
# Reading mail in (libetpan over our TLS, notmuch through the indexer
# thread): only paloma-sync and the tests link it, never the daemon.  An
# archive, so that a test pulls in only the modules it calls.
SYNC = netstream syncstate mailfile foldername sync_ix sync_imap imap_session imap_folder imap_resync sync_pop3
SYNC_O = $(SYNC:%=$(B)/src/%.o)
SYNC_A = $(B)/libpaloma-sync.a

CORE_O  = $(CORE:%=$(B)/src/%.o)
FRONT_O = $(FRONT:%=$(B)/src/%.o)
NET_O   = $(NET:%=$(B)/src/%.o)

# Unit tests (tests/unit/test_*.c, TAP) and test tools (tests/tools/*.c,
# programs the shell tests drive) link the core and the delivery modules.
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TOOL_SRC = $(wildcard tests/tools/*.c)
TOOL_BIN = $(TOOL_SRC:tests/tools/%.c=$(B)/tests/tools/%)

# The terminal client: ui/*.c over the core; MIME (GMime) and the notmuch
# views are core modules that only the client (and tests) link.
CLIENT = mime mimetext rfc2047 authres dkimverify threads addrbook compose
CLIENT_O = $(CLIENT:%=$(B)/src/%.o)
UI_SRC = $(wildcard ui/*.c)
UI_O = $(UI_SRC:ui/%.c=$(B)/ui/%.o)
CLIENT_LIBS = $(CURSES_LIBS) $(GMIME_LIBS) $(NOTMUCH_LIBS)

# Helper programs the front end runs from $(LIBEXECDIR).
HELPERS = paloma-daemon paloma-index paloma-sync paloma-ui paloma-dkim paloma-doctor \
  paloma-mtasts
# The queue daemon's own objects (besides CORE and NET).
DAEMON = daemon scheduler tlspolicy conn event bounce syncer
DAEMON_O = $(DAEMON:%=$(B)/src/%.o)
# The same without main(), for unit tests.
DAEMON_LIB_O = $(filter-out $(B)/src/daemon.o,$(DAEMON_O))

PROGS = $(B)/bin/paloma $(B)/bin/probe-libs $(HELPERS:%=$(B)/libexec/paloma/%)

all: $(PROGS)

$(B)/src/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(CLIENT_O): $(B)/src/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(CC) $(UI_CFLAGS) -c -o $@ $<

$(B)/ui/%.o: ui/%.c $(wildcard src/*.h ui/*.h)
	@mkdir -p $(@D)
	$(CC) $(UI_CFLAGS) -c -o $@ $<

# dnssync, dns and c-ares: the pager's DKIM key lookups (dkimverify.c).
UI_DEPS = $(UI_O) $(CLIENT_O) $(INDEX_O) $(B)/src/report.o $(B)/src/dsn.o $(SYNC_A) \
  $(B)/src/dnssync.o $(B)/src/dns.o $(CORE_O)
$(B)/libexec/paloma/paloma-ui: $(UI_DEPS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(UI_DEPS) $(CLIENT_LIBS) $(SSL_LIBS) $(CARES_LIBS)

$(B)/bin/paloma: $(FRONT_O) $(CORE_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^

$(B)/libexec/paloma/paloma-daemon: $(DAEMON_O) $(NET_O) $(CORE_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(NET_LIBS)

# paloma dkim keygen|check: OpenSSL and c-ares (the front end signs through
# dkim.c, which loads libopendkim with dlopen only for accounts with a key).
$(B)/libexec/paloma/paloma-dkim: $(B)/src/dkim_main.o $(NET_O) $(CORE_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(NET_LIBS)

# paloma doctor: DNS (c-ares), sockets, OpenSSL for the DKIM key.
# paloma-mtasts: fetches MTA-STS policies over HTTPS (libcurl) into the
# cache the daemon reads; DNS through dnssync (c-ares).
$(B)/src/mtasts_main.o: src/mtasts_main.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CURL_CFLAGS) -c -o $@ $<

$(B)/libexec/paloma/paloma-mtasts: $(B)/src/mtasts_main.o $(NET_O) $(CORE_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(NET_LIBS) $(CURL_LIBS)

$(B)/libexec/paloma/paloma-doctor: $(B)/src/doctor_main.o $(B)/src/doctor.o $(NET_O) $(CORE_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(NET_LIBS) $(PSL_LIBS)

$(B)/libexec/paloma/paloma-index: $(B)/src/index_main.o $(INDEX_O) $(B)/src/report.o \
  $(B)/src/dsn.o $(CORE_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(NOTMUCH_LIBS)

$(SYNC_A): $(SYNC_O)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/libexec/paloma/paloma-sync: $(B)/src/sync_main.o $(SYNC_A) $(INDEX_O) $(NET_O) $(CORE_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -pthread -o $@ $(B)/src/sync_main.o $(SYNC_A) $(INDEX_O) $(NET_O) \
	  $(CORE_O) $(NOTMUCH_LIBS) $(ETPAN_LIBS) $(NET_LIBS)

# Links one call of each core library, so that a missing or broken library
# shows up at build time with its name, not later in a helper.
$(B)/bin/probe-libs: scripts/probe-libs.c
	@mkdir -p $(@D)
	$(CC) $(BASE) $(WARN) $(CFLAGS) $(SSL_CFLAGS) $(CARES_CFLAGS) $(DKIM_CFLAGS) \
	  $(CURSES_CFLAGS) $(ETPAN_CFLAGS) $(NOTMUCH_CFLAGS) -o $@ $< $(LDFLAGS) \
	  $(SSL_LIBS) $(CARES_LIBS) $(DKIM_LIBS) $(CURSES_LIBS) $(ETPAN_LIBS) $(NOTMUCH_LIBS)
	$@

$(B)/tests/tools/%: tests/tools/%.c $(CORE_O) $(NET_O) $(INDEX_O) $(SYNC_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -pthread -o $@ $< $(SYNC_A) $(INDEX_O) $(NET_O) $(CORE_O) $(LDFLAGS) \
	  $(NET_LIBS) $(NOTMUCH_LIBS) $(ETPAN_LIBS)

$(B)/tests/%: tests/unit/%.c tests/unit/tap.h $(CORE_O) $(NET_O) $(INDEX_O) $(SYNC_A) \
    $(DAEMON_LIB_O) $(CLIENT_O)
	@mkdir -p $(@D)
	$(CC) $(UI_CFLAGS) -pthread -Itests/unit -o $@ $< $(DAEMON_LIB_O) $(CLIENT_O) $(SYNC_A) \
	  $(INDEX_O) $(NET_O) $(CORE_O) $(LDFLAGS) $(NET_LIBS) $(CLIENT_LIBS) $(ETPAN_LIBS)

units: $(UNIT_BIN) $(TOOL_BIN)

deps:
	@scripts/deps

# The whole suite, plain and under ASan+UBSan; one summary line at the end.
check: deps
	$(MAKE) B=build all units
	$(MAKE) B=build-san SAN=1 all units
	tests/run build build-san

# Faster loop while developing: plain build only.
check-quick:
	$(MAKE) B=build all units
	tests/run build

demo: deps all
	@scripts/demo

# Integration tests with every paloma program under valgrind's memcheck;
# fails on a leak or memory error in paloma's own code (scripts/valgrind).
valgrind: all
	scripts/valgrind $(B)

bench-enqueue: all
	bench/enqueue
bench-deliver: all
	bench/deliver
bench-sync: all
	bench/sync
bench-tui: all
	bench/tui

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DATADIR)/systemd \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 $(B)/bin/paloma $(DESTDIR)$(BINDIR)/paloma
	for h in $(HELPERS); do install -m 755 $(B)/libexec/paloma/$$h $(DESTDIR)$(LIBEXECDIR)/$$h; done
	install -m 644 $(wildcard doc/*.1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(wildcard doc/*.5) $(DESTDIR)$(MANDIR)/man5/
	install -m 644 share/paloma.conf.sample $(DESTDIR)$(DATADIR)/paloma.conf.sample
	sed 's|@BINDIR@|$(BINDIR)|g' share/systemd/paloma.service.in \
	  >$(DESTDIR)$(DATADIR)/systemd/paloma.service
	install -m 644 share/bash-completion/paloma \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/paloma

# A `sendmail` link so that cron, mail(1), git send-email and mutt find paloma.
install-sendmail: install
	ln -sf paloma $(DESTDIR)$(BINDIR)/sendmail

clean:
	rm -rf build build-san build-fuzz

.PHONY: all units deps check check-quick demo valgrind bench-enqueue bench-deliver bench-sync bench-tui install install-sendmail clean

# Fuzzing (clang's libFuzzer with ASan and UBSan): one target per parser of
# untrusted input, tests/fuzz/fuzz_*.c, seeds in tests/fuzz/corpus/TARGET/.
# `make fuzz` builds them into build-fuzz/; `make fuzz-run` runs each for
# FUZZ_SECONDS on its seeds, keeping what it finds in build-fuzz/corpus/ and
# crashes in build-fuzz/crashes/ (copy a crash into the seed directory: the
# unit test test_fuzz_corpus replays every seed, so it stays a regression test).
# doc/FUZZING.md lists the targets and the runs.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=undefined
# clang does not know -Wno-format-truncation; a clang-only warning must not
# stop a fuzz build, so no -Werror here.
FUZZ_CFLAGS   = $(BASE) $(filter-out -Werror -Wno-format-truncation,$(WARN)) -g -O1 \
                -fno-omit-frame-pointer $(NET_CFLAGS) $(GMIME_CFLAGS) \
                -DLIBEXECDIR='"$(LIBEXECDIR)"'
FUZZ_SRC      = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN      = $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
# The modules go into an archive, so that each target links only those it
# calls (and the libraries they need: the sync's pull in libetpan, notmuch).
FUZZ_O        = $(CORE:%=build-fuzz/src/%.o) $(NET:%=build-fuzz/src/%.o) \
                $(SYNC:%=build-fuzz/src/%.o) $(INDEX:%=build-fuzz/src/%.o) \
                $(addprefix build-fuzz/src/,mime.o mimetext.o rfc2047.o authres.o \
                dkimverify.o)
FUZZ_A        = build-fuzz/libpaloma-fuzz.a
FUZZ_LIBS     = $(NET_LIBS) $(GMIME_LIBS) $(ETPAN_LIBS) $(NOTMUCH_LIBS) -pthread
# `make fuzz-run FUZZ_RUN="fuzz_pop3 fuzz_dns"` runs only those.
FUZZ_RUN     ?= $(FUZZ_BIN:build-fuzz/%=%)

fuzz: $(FUZZ_BIN)

$(FUZZ_A): $(FUZZ_O)
	@rm -f $@
	$(AR) rcs $@ $^

build-fuzz/src/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_A)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_A) $(FUZZ_LIBS)

fuzz-run: $(FUZZ_RUN:%=build-fuzz/%)
	@for n in $(FUZZ_RUN); do \
	  t=build-fuzz/$$n; mkdir -p build-fuzz/corpus/$$n build-fuzz/crashes; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	  $$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build-fuzz/crashes/$$n- \
	    build-fuzz/corpus/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

# The corpus replay test compiles the fuzz targets in: rebuild it when they change.
$(B)/tests/test_fuzz_corpus: $(FUZZ_SRC) $(wildcard tests/fuzz/*.h)

.SECONDARY: $(FUZZ_O) $(FUZZ_A)
.PHONY: fuzz fuzz-run

# Objects are never intermediate: keep them between builds of single targets.
.SECONDARY:

# The long crash torture (issue #8; doc/RELIABILITY.md): 2,000 messages to 20
# domains of random receivers, the daemon SIGKILLed at least 200 times; then
# paloma sync of 5,000 messages killed 50 times.  The short versions of both
# run in `make check` (tests/torture/*.sh with their defaults).  Prints the
# whole TAP with the figures, kept in $(B)/torture-*.tap.
torture: all
	PALOMA_BUILD=$(abspath $(B)) TORTURE_MESSAGES=2000 TORTURE_DOMAINS=20 \
	  TORTURE_KILLS=200 TORTURE_CAP=3000 TORTURE_MAX_RUN=0.6 TORTURE_PARALLEL=8 \
	  sh tests/torture/delivery.sh | tee $(B)/torture-delivery.tap
	PALOMA_BUILD=$(abspath $(B)) SYNC_TORTURE_MESSAGES=5000 SYNC_TORTURE_KILLS=50 \
	  SYNC_TORTURE_MAX_RUN=1.0 sh tests/torture/sync.sh | tee $(B)/torture-sync.tap
	! grep -h '^not ok' $(B)/torture-delivery.tap $(B)/torture-sync.tap

.PHONY: torture
