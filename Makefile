# cdscan — one non-recursive Makefile. `make`, `make check`, `make install`.
# SANITIZE=1 builds with ASan/UBSan; WERROR=1 turns warnings into errors (CI);
# FUZZ=1 builds with clang for libFuzzer (`make fuzz`); V=1 shows the commands.
# MALLOC= links cdscan with glibc's allocator instead of tcmalloc (below).

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=

CC      ?= cc
PKGS    := ldns getdns libevent yaml-0.1 libcrypto libssl libxml-2.0 libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
CHECK_CFLAGS := $(shell pkg-config --cflags check)
CHECK_LIBS   := $(shell pkg-config --libs check)

WARN    := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
           -Wpointer-arith -Wsign-compare -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) -I. $(PKG_CFLAGS) -MMD -MP
LDLIBS  := -l:libgetdns_ex_event.a $(PKG_LIBS) -lm
# The binary's allocator. A rescan makes ~85 allocator calls a delegation
# (ldns records and lists, libpq results); glibc's malloc and free were a
# fifth of the scanner's instructions, and tcmalloc cut the scanner's CPU
# seconds by ~13% (docs/BENCH.md, 2026-11-24). Only the binary: the unit
# tests and the sanitizer builds keep glibc's (ASan brings its own).
MALLOC  ?= libtcmalloc_minimal
ifneq ($(SANITIZE)$(FUZZ),)
MALLOC  :=
endif
MALLOC_LIBS := $(if $(MALLOC),$(shell pkg-config --libs $(MALLOC)))
ifeq ($(CI),true)
WERROR  ?= 1
endif
ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(FUZZ),1)
CC      := clang
CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=address,undefined
endif

ifneq ($(V),1)
Q := @
E := @echo
else
E := @true
endif

B := build
LIB_SRC   := $(filter-out cli/main.c,$(wildcard core/*.c scanner/*.c policy/*.c db/*.c epp/*.c cli/*.c))
SQL_SRC   := $(sort $(wildcard db/sql/[0-9]*.sql))
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o) $(B)/db/sql_embed.o
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BIN  := $(TOOL_SRC:tests/tools/%.c=$(B)/tests/tools/%)
FUZZ_NAME := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BIN := $(FUZZ_NAME:%=$(B)/tests/fuzz/replay_%)

# The binary: ./cdscan from the default build directory; from another
# (make B=build/asan SANITIZE=1 check, as .ci/run does) it stays in that
# directory, so that neither build ever stands in for the other: each
# once overwrote the other's ./cdscan, and a later `make` found it up to
# date. tests/run takes the one that goes with BUILD.
BIN := $(if $(filter build,$(B)),cdscan,$(B)/cdscan)

all: $(BIN)

$(BIN): $(B)/cli/main.o $(B)/libcdscan.a
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(MALLOC_LIBS)

$(B)/libcdscan.a: $(LIB_OBJ)
	$(E) "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

# The schema migrations are compiled into the binary. The folder too: a
# migration removed (or renamed) changes no remaining file, only it.
$(B)/db/sql_embed.c: $(SQL_SRC) db/sql db/sql/embed.sh
	@mkdir -p $(dir $@)
	$(E) "  GEN     $@"
	$(Q)db/sql/embed.sh $(SQL_SRC) > $@.tmp && mv $@.tmp $@

$(B)/db/sql_embed.o: $(B)/db/sql_embed.c
	$(E) "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(E) "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(B)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(E) "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(B)/tests/unit/%: $(B)/tests/unit/%.o $(B)/libcdscan.a
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(B)/tests/tools/%: $(B)/tests/tools/%.o $(B)/libcdscan.a
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The fuzz targets with an ordinary main (tests/fuzz/replay.c): `make check`
# replays the seed corpora and every past crash (tests/fuzz/regress/).
$(B)/tests/fuzz/replay_%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/replay.o $(B)/libcdscan.a
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# libFuzzer builds of the same targets (clang, ASan/UBSan) in $(B)/fuzz;
# run them as docs/HARDENING.md shows.
fuzz:
	$(Q)tests/deps fuzz
	$(Q)$(MAKE) --no-print-directory FUZZ=1 B=$(B)/fuzz \
	  $(FUZZ_NAME:%=$(B)/fuzz/tests/fuzz/fuzz_%)

$(B)/tests/fuzz/fuzz_%: $(B)/tests/fuzz/fuzz_%.o $(B)/libcdscan.a
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

tests: $(BIN) $(UNIT_BIN) $(TOOL_BIN) $(REPLAY_BIN)

# The whole suite: unit tests, then integration tests against real servers
# (NSD, Knot, unbound) that the test scripts start on loopback. Needs root.
check:
	$(Q)tests/deps
	$(Q)$(MAKE) --no-print-directory tests depcheck
	$(Q)BUILD=$(B) tests/run

unit: $(UNIT_BIN) $(REPLAY_BIN)
	$(Q)BUILD=$(B) tests/run --unit-only

# policy/ is pure and core/ is below everything: keep the arrows pointing right.
depcheck:
	$(Q)! grep -nE '#include *[<"](event2/|libpq-fe\.h|ldns/|getdns/|sys/socket\.h|netinet/|libxml/|openssl/ssl\.h)' policy/*.[ch] || \
	  { echo "depcheck: policy/ must not do I/O"; exit 1; }
	$(Q)! grep -nE '#include *"(scanner|db|epp|cli|policy)/' core/*.[ch] || \
	  { echo "depcheck: core/ must not include higher modules"; exit 1; }
	$(Q)! grep -nE '#include *"(scanner|db|epp|cli)/' policy/*.[ch] || \
	  { echo "depcheck: policy/ may use core/ only"; exit 1; }
	$(Q)! grep -nE '#include *<libpq-fe\.h>' core/*.[ch] scanner/*.[ch] policy/*.[ch] epp/*.[ch] cli/*.[ch] 2>/dev/null || \
	  { echo "depcheck: only db/ talks to PostgreSQL"; exit 1; }
	$(Q)! grep -nE '#include *<(libxml/|openssl/ssl\.h)' core/*.[ch] scanner/*.[ch] policy/*.[ch] db/*.[ch] cli/*.[ch] 2>/dev/null || \
	  { echo "depcheck: only epp/ speaks TLS and XML"; exit 1; }
	@echo "depcheck: ok"

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/cdscan
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/cdscan
	install -m 0644 etc/cdscan.yaml $(DESTDIR)$(SYSCONFDIR)/cdscan/cdscan.yaml.example
	@for m in docs/*.[1-8]; do [ -f "$$m" ] || continue; \
	  s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
	  install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	@# the unit names the binary and configuration where they were put
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed -e 's|/usr/local/bin/cdscan|$(BINDIR)/cdscan|' \
	    -e 's|/etc/cdscan/|$(SYSCONFDIR)/cdscan/|' etc/cdscan.service \
	    >$(DESTDIR)$(SYSTEMDUNITDIR)/cdscan.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/cdscan.service

# The nightly job on a demo registry (tests/demo): only what it runs is
# built, on every core, so that a fresh clone shows it in well under five
# minutes.
demo:
	$(Q)tests/deps
	$(Q)$(MAKE) --no-print-directory -j$$(nproc) $(BIN) \
	  $(B)/tests/tools/zonesign $(B)/tests/tools/benchworld
	$(Q)CDSCAN=$(abspath $(BIN)) BUILD=$(B) tests/demo

# The benchmark (docs/BENCH.md): N delegations served by one Knot, scanned
# through the whole pipeline, dnsperf as the ceiling, a 30 ms RTT variant
# and the RSS slope (N_RSS). Needs root; takes several minutes.
N ?= 100000
bench: $(BIN) $(TOOL_BIN)
	$(Q)tests/deps bench
	$(Q)CDSCAN=$(abspath $(BIN)) N=$(N) BUILD=$(B) tests/bench/bench.sh

# NOTIFY to commit through `cdscan daemon` (docs/BENCH.md, "NOTIFY"):
# NOTIFY_N NOTIFYs on loopback against the DNS test world. Needs root.
NOTIFY_N ?= 100
bench-notify: $(BIN) $(TOOL_BIN)
	$(Q)flock /tmp/cdscan-world.lock env N=$(NOTIFY_N) BUILD=$(B) \
	  CDSCAN=$(abspath $(BIN)) \
	  WORLD_TOOLS=$(abspath $(B))/tests/tools tests/bench/notify_bench.sh

format:
	clang-format -i $(wildcard */*.[ch] tests/*/*.[ch])

clean:
	rm -rf $(B) cdscan

.SECONDARY: $(FUZZ_NAME:%=$(B)/tests/fuzz/fuzz_%.o) $(B)/tests/fuzz/replay.o
.PHONY: all tests check unit depcheck install demo bench bench-notify fuzz format clean
-include $(LIB_OBJ:.o=.d) $(B)/cli/main.d $(UNIT_BIN:=.d) $(TOOL_BIN:=.d) \
  $(FUZZ_NAME:%=$(B)/tests/fuzz/fuzz_%.d)
