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
# Debian 12's libnotmuch-dev has no .pc file.
NOTMUCH_CFLAGS  := $(call pc,--cflags,notmuch)
NOTMUCH_LIBS    := $(or $(call pc,--libs,notmuch),-lnotmuch)

# Delivery side (c-ares, OpenSSL): linked into the daemon and its tests.
NET_CFLAGS = $(CARES_CFLAGS) $(SSL_CFLAGS)
NET_LIBS   = $(CARES_LIBS) $(SSL_LIBS)

ALL_CFLAGS = $(BASE) $(WARN) $(CFLAGS) $(NET_CFLAGS) -DLIBEXECDIR='"$(LIBEXECDIR)"'

# Core objects every face uses (libc only).
CORE = util fsutil paths config addr message queue ctl log
# The front end: the scripts' hot path.
FRONT = paloma cli_send cli_queue cli_config cli_log

# Delivery modules (dns, smtp, …): one name per module in src/.
NET = smtp

CORE_O  = $(CORE:%=$(B)/src/%.o)
FRONT_O = $(FRONT:%=$(B)/src/%.o)
NET_O   = $(NET:%=$(B)/src/%.o)

# Unit tests (tests/unit/test_*.c, TAP) and test tools (tests/tools/*.c,
# programs the shell tests drive) link the core and the delivery modules.
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TOOL_SRC = $(wildcard tests/tools/*.c)
TOOL_BIN = $(TOOL_SRC:tests/tools/%.c=$(B)/tests/tools/%)

# Helper programs the front end runs from $(LIBEXECDIR).
HELPERS =

PROGS = $(B)/bin/paloma $(B)/bin/probe-libs $(HELPERS:%=$(B)/libexec/paloma/%)

all: $(PROGS)

$(B)/src/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/bin/paloma: $(FRONT_O) $(CORE_O)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^

# Links one call of each core library, so that a missing or broken library
# shows up at build time with its name, not later in a helper.
$(B)/bin/probe-libs: scripts/probe-libs.c
	@mkdir -p $(@D)
	$(CC) $(BASE) $(WARN) $(CFLAGS) $(SSL_CFLAGS) $(CARES_CFLAGS) $(DKIM_CFLAGS) \
	  $(CURSES_CFLAGS) $(ETPAN_CFLAGS) $(NOTMUCH_CFLAGS) -o $@ $< $(LDFLAGS) \
	  $(SSL_LIBS) $(CARES_LIBS) $(DKIM_LIBS) $(CURSES_LIBS) $(ETPAN_LIBS) $(NOTMUCH_LIBS)
	$@

$(B)/tests/tools/%: tests/tools/%.c $(CORE_O) $(NET_O)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(NET_O) $(CORE_O) $(LDFLAGS) $(NET_LIBS)

$(B)/tests/%: tests/unit/%.c tests/unit/tap.h $(CORE_O) $(NET_O)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(NET_O) $(CORE_O) $(LDFLAGS) $(NET_LIBS)

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

bench-enqueue: all
	bench/enqueue

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

.PHONY: all units deps check check-quick demo bench-enqueue install install-sendmail clean
