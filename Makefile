# reg — build with plain GNU Make: see docs/build.md for why.
#
#   make              build build/reg and build/regd (optimised)
#   make SAN=1        build under build/san with ASan+UBSan (what the tests use)
#   make install      install reg and regd into $(PREFIX)/bin
#   make test         unit + end-to-end tests, sanitizer build
#   make lint         cppcheck, clang-format and naming checks (scripts/check-names.sh)
#   make bench        benchmarks against unshare, bubblewrap, runc and Docker (docs/benchmarks.md)
#   make bench-quick  the headline ratios in under 3 minutes
#   make bench-neighbours   noisy-neighbour benchmark (docs/neighbours.md)
#   make bench-fidelity     CPython's OS-facing tests, host against container (docs/fidelity.md)

PREFIX ?= /usr/local
PKGS := yaml-0.1 jansson libmicrohttpd libcurl libssl libcrypto libelf libcap libseccomp libarchive sqlite3 libmnl libnftables
CC ?= cc

ifeq ($(SAN),1)
BUILD ?= build/san
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
BUILD ?= build
OPT := -O2 -g
endif

CFLAGS_ALL := -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter $(OPT) \
  -D_GNU_SOURCE -Isrc/lib $(shell pkg-config --cflags $(PKGS)) $(CFLAGS)
LDFLAGS_ALL := $(OPT) $(LDFLAGS)
# libnftables is loaded with dlopen (src/lib/nft.h): only its header is used here.
LIBS_LIB := $(shell pkg-config --libs yaml-0.1 jansson libssl libcrypto libelf libcap libseccomp libarchive libcurl libmnl)
LIBS_REGD := $(shell pkg-config --libs libmicrohttpd) $(LIBS_LIB) -lpthread
# http-parser has no pkg-config file in Debian 12. libcurl is not linked
# into reg: src/cli/tls.c loads it with dlopen for tcp:// only (docs/build.md).
LIBS_HTTP := -lhttp_parser
# Both from their static archives (Debian ships them): two libraries fewer
# for the loader at each command's start; libc stays shared, for the
# dlopen of libcurl and libarchive (docs/build.md).
LIBS_CLI := -Wl,-Bstatic $(LIBS_HTTP) $(shell pkg-config --libs jansson) -Wl,-Bdynamic
LIBS_HUB := $(shell pkg-config --libs libmicrohttpd libcurl jansson sqlite3 libcrypto zlib) -lpthread -lm

LIB_SRC := $(sort $(wildcard src/lib/*.c))
REGD_SRC := $(sort $(wildcard src/regd/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
HUB_SRC := $(sort $(wildcard src/hub/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
REGD_OBJ := $(REGD_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
HUB_OBJ := $(HUB_SRC:%.c=$(BUILD)/%.o)
# Linked into reg-monitor statically: their pages are then shared by every
# monitor as part of one file, instead of each monitor dirtying its own
# relocations of three more shared libraries (≈25 kB PSS per container).
MON_LIBS := -Wl,-Bstatic -ljansson -lcap -lseccomp -Wl,-Bdynamic
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all install test unit e2e lint format clean bench bench-quick bench-neighbours bench-fidelity fuzz
all: $(BUILD)/reg $(BUILD)/regd $(BUILD)/reg-monitor $(BUILD)/reg-init $(BUILD)/reg-hub $(BUILD)/reg-trace

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/libreg.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/regd: $(REGD_OBJ) $(BUILD)/libreg.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_REGD)

# The client links libreg.a too, and the linker takes only what the client
# reaches (today error, util, strv, ulimit, detach, limit, json, format,
# timing, health and proto; copy comes from copy-dl.o below): no engine code, and
# only http-parser and jansson on its line, so a client that came to reach
# the engine fails to link rather than growing its start-up (see
# docs/build.md and docs/benchmarks.md). $(BUILD)/reg.map lists what it took.
$(BUILD)/reg: $(CLI_OBJ) $(BUILD)/src/cli/copy-dl.o $(BUILD)/libreg.a
	$(CC) $(LDFLAGS_ALL) -Wl,-Map=$@.map -o $@ $^ $(LIBS_CLI)

# copy.c for the client: its libarchive calls through pointers that
# src/cli/archive_dl.c fills with dlopen when `reg cp` runs (docs/build.md).
$(BUILD)/src/cli/copy-dl.o: src/lib/copy.c src/cli/archive_dl.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DREG_ARCHIVE_DLOPEN -include src/cli/archive_dl.h -MMD -MP -c $< -o $@

# reg-hub (docs/hub.md): a remote client of regds, with an engine root of
# its own for the app templates it deploys (src/hub/apps.h) and an embedded
# registry serving an OCI layout (src/hub/registry.h): libreg.
$(BUILD)/reg-hub: $(HUB_OBJ) $(BUILD)/libreg.a
	$(CC) $(LDFLAGS_ALL) -Wl,-Map=$@.map -o $@ $^ $(LIBS_HUB) $(LIBS_LIB)

$(BUILD)/src/hub/main.o: CFLAGS_ALL += -DHUB_WEB_DIR='"$(PREFIX)/share/reg-hub/web"'

# reg-monitor links libreg.a, so the linker takes only the modules the
# monitor reaches (by symbol, one object file per module): today monitor,
# runtime, container, cgroup, limit, security, logfile, events, health,
# netrelease, netpeers, nft, etcfiles, ulimit, timing, root, json, util,
# strv, error. One runs per
# container, so it stays small; and since only the libraries below are on
# its line, a monitor that came to reach the store, templates or the
# registry (libcrypto, libyaml, libelf, libcurl) fails to link instead of
# growing. $(BUILD)/reg-monitor.map lists what it took (docs/build.md).
$(BUILD)/reg-monitor: $(BUILD)/src/monitor/main.o $(BUILD)/libreg.a
	$(CC) $(LDFLAGS_ALL) -Wl,-Map=$@.map -o $@ $^ $(MON_LIBS)

# --init's PID 1, bound into containers: static (a container may have any
# libc, or none), and without the sanitizers, whose runtime needs /proc
# mappings and a dynamic loader it cannot count on there.
$(BUILD)/reg-init: src/init/main.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -D_GNU_SOURCE -static -o $@ $<

# reg-trace: the sandbox and seccomp tracer of `reg template create --trace`,
# a program of its own because it sets up namespaces after fork.
TRACE_SRC := src/trace/main.c src/lib/util.c src/lib/strv.c src/lib/error.c
$(BUILD)/reg-trace: $(TRACE_SRC:%.c=$(BUILD)/%.o)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(shell pkg-config --libs libseccomp)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libreg.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libreg.a $(LIBS_LIB) -lcmocka

# The client's HTTP is the client's, not the engine's.
$(BUILD)/tests/test_http: tests/unit/test_http.c $(BUILD)/src/cli/http.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Isrc/cli -o $@ $^ $(LIBS_HTTP) -lcmocka

# reg-hub's pure logic is not in libreg: its unit test links the hub's own.
$(BUILD)/tests/test_hub: tests/unit/test_hub.c $(BUILD)/src/hub/auth.o $(BUILD)/src/hub/regd_client.o $(BUILD)/libreg.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Isrc/hub -o $@ $^ $(LIBS_HUB) -lcmocka

# reg-hub's uploaded apps (src/hub/appfiles.c), against the engine's store.
$(BUILD)/tests/test_appfiles: tests/unit/test_appfiles.c $(BUILD)/src/hub/appfiles.o $(BUILD)/libreg.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Isrc/hub -o $@ $^ $(LIBS_LIB) -lcmocka

install: $(BUILD)/reg $(BUILD)/regd $(BUILD)/reg-monitor $(BUILD)/reg-init $(BUILD)/reg-hub $(BUILD)/reg-trace
	install -D -m 0755 $(BUILD)/reg $(DESTDIR)$(PREFIX)/bin/reg
	install -D -m 0755 $(BUILD)/regd $(DESTDIR)$(PREFIX)/bin/regd
	install -D -m 0755 $(BUILD)/reg-monitor $(DESTDIR)$(PREFIX)/bin/reg-monitor
	install -D -m 0755 $(BUILD)/reg-init $(DESTDIR)$(PREFIX)/bin/reg-init
	install -D -m 0755 $(BUILD)/reg-trace $(DESTDIR)$(PREFIX)/bin/reg-trace

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

e2e: $(BUILD)/reg $(BUILD)/regd $(BUILD)/reg-monitor $(BUILD)/reg-init $(BUILD)/reg-hub $(BUILD)/reg-trace
	REG_BIN=$(abspath $(BUILD)) tests/e2e/run.sh

test:
	$(MAKE) SAN=1 unit e2e


lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Isrc/lib -Isrc/cli src tests/unit fuzz
	clang-format --dry-run --Werror src/*/*.[ch] tests/unit/*.c fuzz/*.c
	scripts/check-names.sh

format:
	clang-format -i src/*/*.[ch] tests/unit/*.c fuzz/*.c

bench: all
	bench/run.sh

# The headline ratios (start-up against bubblewrap, phases, marginal memory)
# in under 3 minutes, printed; no Docker (bench/quick.sh).
bench-quick:
	bench/quick.sh

# Separate: it runs fork and malloc bombs, and loads the machine for minutes.
bench-neighbours: all
	bench/neighbours.sh

# CPython's regression tests for the OS-facing modules, on the host and in a
# container (issue 21, fidelity); minutes, not a CI gate.
bench-fidelity: all
	bench/fidelity.sh

# Fuzzing (docs/security.md): libFuzzer targets in fuzz/, built with clang
# against the library compiled with the fuzzer's coverage, ASan and UBSan.
#   make fuzz                 every target for FUZZ_SECONDS (default 60) each
#   make fuzz FUZZ=template   one target
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build/fuzz
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -D_GNU_SOURCE -Isrc/lib \
  $(shell pkg-config --cflags $(PKGS)) -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_TARGETS := $(patsubst fuzz/fuzz_%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ ?= $(FUZZ_TARGETS)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)

$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libreg.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_BUILD)/libreg.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libreg.a $(LIBS_LIB)

$(FUZZ_BUILD)/fuzz_http: fuzz/fuzz_http.c $(FUZZ_BUILD)/src/cli/http.o
	clang $(FUZZ_CFLAGS) -Isrc/cli -fsanitize=fuzzer -o $@ $^ $(LIBS_HTTP)

fuzz:
	scripts/deps.sh --fuzz
	$(MAKE) $(FUZZ:%=$(FUZZ_BUILD)/fuzz_%)
	fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ)

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(REGD_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(BUILD)/src/cli/copy-dl.d $(HUB_OBJ:.o=.d) $(BUILD)/src/monitor/main.d $(BUILD)/src/trace/main.d
