# flowlake -- one Makefile for the binary, the tests, the fuzzers and the
# benchmarks.
#
#   make                      build ./flowlake (release-ish, -O2)
#   make check                unit + integration tests + fuzz corpus replay
#   make unit | integration | fuzz-replay    one kind of test only
#   make SANITIZE=address,undefined check
#   make tsan                 ThreadSanitizer build in build-tsan/ (scripts/tsan.sh runs tests on it)
#   make fuzz                 libFuzzer targets (needs clang; scripts/bootstrap.sh --all)
#   make bench                benchmark binaries (run bench/run.sh)
#
# Dependencies come from scripts/bootstrap.sh: Debian packages plus DuckDB in
# .deps/duckdb (pinned in scripts/deps.env, checked by check-duckdb below).

include scripts/deps.env

CC       ?= cc
SANITIZE ?=
WERROR   ?= 1
O        ?= 2
BUILD    ?= build$(if $(SANITIZE),-san)

DUCKDB_DIR := .deps/duckdb
CPPFLAGS += -isystem $(DUCKDB_DIR)/include -Isrc
CFLAGS   ?= -O$(O) -g
CFLAGS   += -std=c17 -pthread -Wall -Wextra -Wpedantic -Wshadow \
            -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla -Wundef \
            -fno-common -MMD -MP
ifeq ($(WERROR),1)
CFLAGS   += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif
LDFLAGS  += -pthread -L$(DUCKDB_DIR)/lib -Wl,-rpath,$(abspath $(DUCKDB_DIR)/lib)
# zstd_reuse.c's ZSTD_compress takes the place of libduckdb's own.
LDFLAGS  += -Wl,--export-dynamic-symbol=_ZN11duckdb_zstd13ZSTD_compressEPvmPKvmi
LDLIBS   += -lduckdb -lisal -ljansson -linih -lmicrohttpd -lcurl -lrdkafka -lz -lxxhash -lm

# src/tools/ holds build-time generators, not library code.
LIB_SRC  := $(filter-out src/cli/main.c src/tools/%,$(wildcard src/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/ui_assets.o
CLI_SRC  := src/cli/main.c
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%-replay)

.PHONY: all check unit integration fuzz-replay fuzz bench clean check-duckdb tsan

all: flowlake

# The binary lives at the top (./flowlake) for the release build; sanitizer
# builds keep theirs in their build folder so both can coexist.
ifeq ($(SANITIZE),)
FLOWLAKE := flowlake
else
FLOWLAKE := $(BUILD)/flowlake
all: $(FLOWLAKE)
endif

$(FLOWLAKE): $(BUILD)/src/cli/main.o $(BUILD)/libflowlake.a | check-duckdb
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/libflowlake.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

# The web UI (docs/ui.md): web/ and uPlot's dist files (web/node_modules,
# installed by scripts/bootstrap.sh from web/package-lock.json) become
# constant tables in C -- plain bytes, gzip bytes, ETag, content type --
# so the binary serves them without reading a file. URL, file, type:
UPLOT_DIST := web/node_modules/uplot/dist
UI_TABLE := \
    /                      web/index.html                 text/html \
    /ui/common.js          web/common.js                  text/javascript \
    /ui/dashboard.js       web/dashboard.js               text/javascript \
    /ui/dashboard-default.json web/dashboard-default.json application/json \
    /console               web/console.html               text/html \
    /ui/console.js         web/console.js                 text/javascript \
    /status                web/status.html                text/html \
    /ui/status.js          web/status.js                  text/javascript \
    /ui/style.css          web/style.css                  text/css \
    /ui/uPlot.iife.min.js  $(UPLOT_DIST)/uPlot.iife.min.js text/javascript \
    /ui/uPlot.min.css      $(UPLOT_DIST)/uPlot.min.css    text/css
# Every second word of each row: the files.
UI_FILES := $(filter web/%,$(UI_TABLE))
# Every type gets "; charset=utf-8" (all the files are UTF-8 text).
UI_ARGS := $(foreach w,$(UI_TABLE),$(if $(filter text/% application/json,$(w)),'$(w); charset=utf-8',$(w)))

$(BUILD)/gen/embed_assets: src/tools/embed_assets.c $(BUILD)/src/core/fl_mem.o \
                           $(BUILD)/src/core/fl_sha256.o
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDFLAGS) -lz

$(BUILD)/gen/ui_assets.c: $(BUILD)/gen/embed_assets $(UI_FILES) Makefile
	$(BUILD)/gen/embed_assets $@ $(UI_ARGS)

$(BUILD)/gen/ui_assets.o: $(BUILD)/gen/ui_assets.c src/http/ui_assets.h $(BUILD)/.flags
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(UPLOT_DIST)/%:
	@echo "missing $@: run scripts/bootstrap.sh (installs web/node_modules)" >&2
	@exit 1

$(BUILD)/%.o: %.c $(BUILD)/.flags | check-duckdb
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Persist the flags so that changing them rebuilds everything (Redis trick).
$(BUILD)/.flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(CPPFLAGS) $(CFLAGS)' | cmp -s - $@ || echo '$(CC) $(CPPFLAGS) $(CFLAGS)' > $@
FORCE:

# Header and library must be the pinned version, and agree with each other.
check-duckdb: $(BUILD)/duckdb-version-ok
$(BUILD)/duckdb-version-ok: scripts/check-duckdb.sh scripts/deps.env
	@mkdir -p $(BUILD)
	@scripts/check-duckdb.sh "$(DUCKDB_VERSION)" "$(DUCKDB_DIR)" "$(BUILD)"
	@touch $@

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libflowlake.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) -o $@ $< $(BUILD)/libflowlake.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/fuzz/%-replay: fuzz/%.c fuzz/replay_main.c $(wildcard fuzz/*.h) $(BUILD)/libflowlake.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< fuzz/replay_main.c $(BUILD)/libflowlake.a $(LDFLAGS) $(LDLIBS)

# Helper programs the integration tests run (a webhook receiver, a WAL
# as an older version wrote it, ...).
$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libflowlake.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libflowlake.a $(LDFLAGS) $(LDLIBS)

check: $(FLOWLAKE) $(TEST_BIN) $(FUZZ_REPLAY) $(TOOL_BIN) $(BUILD)/bench/sqlrun
	@BUILD=$(BUILD) FLOWLAKE=$(abspath $(FLOWLAKE)) tests/run.sh all

# One kind of test at a time, with the same summary line.
unit: $(TEST_BIN)
	@BUILD=$(BUILD) FLOWLAKE=$(abspath $(FLOWLAKE)) tests/run.sh unit
integration: $(FLOWLAKE) $(TOOL_BIN) $(BUILD)/bench/sqlrun
	@BUILD=$(BUILD) FLOWLAKE=$(abspath $(FLOWLAKE)) tests/run.sh integration
fuzz-replay: $(FUZZ_REPLAY)
	@BUILD=$(BUILD) FLOWLAKE=$(abspath $(FLOWLAKE)) tests/run.sh fuzz

# ThreadSanitizer: the binary and the integration tests' helper programs in
# build-tsan/, apart from build-san/ (TSan cannot be combined with ASan).
# scripts/tsan.sh runs chosen integration tests against it (docs/development.md).
tsan:
	@$(MAKE) --no-print-directory SANITIZE=thread BUILD=build-tsan build-tsan/flowlake $(TOOL_BIN:$(BUILD)/%=build-tsan/%)

# libFuzzer builds (clang only): make fuzz FUZZ_SECONDS=60
FUZZ_SECONDS ?= 30
# Targets that need DuckDB: built with the whole library and libduckdb.
FUZZ_DUCKDB := fuzz_prune
fuzz:
	@mkdir -p fuzz/out
	@for f in $(FUZZ_SRC); do \
	    n=$$(basename $$f .c); \
	    if echo " $(FUZZ_DUCKDB) " | grep -q " $$n "; then \
	    clang -O1 -g -std=c17 -pthread -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc -I$(DUCKDB_DIR)/include \
	        -o fuzz/out/$$n $$f $(LIB_SRC) $(LDFLAGS) $(LDLIBS) || exit 1; \
	    else \
	    clang -O1 -g -std=c17 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc -I$(DUCKDB_DIR)/include \
	        -o fuzz/out/$$n $$f $(filter-out src/archive/% src/query/% src/cli/% src/server/% src/http/% src/pipeline/% src/sources/% src/sinks/% src/config/% src/client/% src/alarm/% src/metrics/% src/s3/% src/core/fl_curl.c,$(LIB_SRC)) src/query/job.c src/pipeline/dedupe.c src/s3/xml.c src/archive/change.c src/sources/tenure.c -lisal -ljansson -lz -lxxhash -lm || exit 1; \
	    fi; \
	    mkdir -p fuzz/corpus/$$n fuzz/out/$$n.new; \
	    fuzz/out/$$n -max_total_time=$(FUZZ_SECONDS) fuzz/out/$$n.new fuzz/corpus/$$n || exit 1; \
	done

bench: flowlake $(BUILD)/bench/bench_parse $(BUILD)/bench/bench_ingest $(BUILD)/bench/sqlrun $(BUILD)/bench/bench_stream
$(BUILD)/bench/%: bench/%.c $(BUILD)/libflowlake.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libflowlake.a $(LDFLAGS) $(LDLIBS)

clean:
	rm -rf build build-san build-tsan flowlake fuzz/out

-include $(shell find build build-san build-tsan -name '*.d' 2>/dev/null)
