# Aisha — build, test, run.  `make help` lists the targets.
#
#   make                 build the library and the four functions (+ migrate)
#   make CC=clang        the same with clang
#   make test            unit + integration tests (real PostgreSQL + lighttpd) and the
#                        short reliability pass (kill -9, database restart, outages, load)
#   make test SANITIZE=1 the same under AddressSanitizer + UBSan
#   make check           everything CI runs: deps, gcc+clang builds, both test passes,
#                        the up/down test and 30 s of each libFuzzer target
#   make fuzz            libFuzzer targets, FUZZ_TIME seconds each (or runs:N)
#   make reliability     the full reliability suite, 10M fuzz runs each, valgrind
#   make bench           speed and memory figures (docs/BENCHMARKS.md)
#   make mutants         each planted mutation (tests/mutations) must fail its tests
#                        (docs/TESTING.md; not part of make check: about 5 minutes)
#   make up / down       bring the local stack up / stop exactly what up started
#   make install         PREFIX=/opt/aisha DESTDIR= ETC=/etc/aisha: programs, lighttpd.conf,
#                        systemd units and timers, logrotate, cron and settings files
#   make chat            talk to the local bot as a Telegram user

CC       ?= cc
PKGS     := fcgi libcurl libcjson libpq libzip libsodium libjpeg libpng libwebp
SANITIZE ?=
FUZZ     ?=
BUILD    ?= $(if $(FUZZ),build/fuzz,$(if $(SANITIZE),build/asan,build/$(notdir $(CC))))
PY       := /usr/bin/python3

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wvla
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(WARN) -Ishared \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
ifneq ($(FUZZ),)
CFLAGS   += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
endif
ifneq ($(SANITIZE),)
CFLAGS   += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

LIB_SRC  := $(wildcard shared/*.c)
LIB_OBJ  := $(LIB_SRC:shared/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/schema_files.o
SCHEMA   := $(sort $(wildcard schema/[0-9][0-9][0-9]_*.sql)) \
            $(if $(EXTRA_SCHEMA),$(sort $(wildcard $(EXTRA_SCHEMA)/[0-9][0-9][0-9]_*.sql)))
LIB      := $(BUILD)/libaisha.a
FUNCS    := tg-update fal-webhook start-training check-status
BINS     := $(FUNCS:%=$(BUILD)/bin/%) $(BUILD)/bin/migrate
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS  := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/fuzzers/%)
FUZZ_TIME ?= 10
UNITS    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test test-unit test-integration test-updown test-reliability check up down \
        install test-install deploy rollback test-deploy dist test-cgi test-multinode web \
        test-browser \
        chat clean fuzz fuzz-build valgrind \
        cron-install help bench reliability mutants

# The optional face module (plugins/face_opencv.cc, shared/faces.h), C++
# against Debian's OpenCV: built where its headers are, next to the
# programs, which load it with dlopen (nothing else links OpenCV).  Not in
# the sanitizer builds: LeakSanitizer's tracer crashed at the exit of a
# photo checker with OpenCV loaded (twice in CI, never in our own code's
# reports); those builds check photos without counting faces.
OPENCV   := $(wildcard /usr/include/opencv4/opencv2/objdetect.hpp)
CXX_OF_CC := $(if $(findstring clang,$(notdir $(CC))),clang++,g++)
FACE_SO  := $(if $(OPENCV),$(if $(FUZZ)$(SANITIZE),,$(BUILD)/bin/aisha-face.so))

LINK_BIN ?= yes
all: $(BINS) $(FACE_SO)
	@[ "$(LINK_BIN)" != yes ] || ln -sfn $(CURDIR)/$(BUILD)/bin bin

$(BUILD)/obj/%.o: shared/%.c shared/*.h | $(BUILD)/obj
	$(CC) $(CFLAGS) -c -o $@ $<

# The migrations, compiled in (tools/embed-schema.sh); the list itself is a
# dependency too, so a migration added with an old date is not missed.
$(BUILD)/obj/schema.list: FORCE | $(BUILD)/obj
	@echo "$(SCHEMA)" | cmp -s - $@ || echo "$(SCHEMA)" >$@

$(BUILD)/obj/schema_files.c: $(SCHEMA) $(BUILD)/obj/schema.list tools/embed-schema.sh
	sh tools/embed-schema.sh $(SCHEMA) >$@.tmp && mv $@.tmp $@

FORCE:

$(BUILD)/obj/schema_files.o: $(BUILD)/obj/schema_files.c shared/schema.h
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/%: functions/%.c $(LIB) | $(BUILD)/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/bin/aisha-face.so: plugins/face_opencv.cc | $(BUILD)/bin
	$(CXX_OF_CC) -std=c++17 -O2 -g -fPIC -shared -Wall -Wextra -Werror \
	    -I/usr/include/opencv4 -o $@ $< -lopencv_objdetect -lopencv_core

$(BUILD)/bin/migrate: schema/migrate.c $(LIB) | $(BUILD)/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) | $(BUILD)/tests
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka

build/fuzz/fuzzers/%: tests/fuzz/%.c $(LIB) | build/fuzz/fuzzers
	$(CC) $(CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/bench/hello: bench/hello.c | $(BUILD)/bench
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/bench/one_select: bench/peers/one_select.c | $(BUILD)/bench
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/obj $(BUILD)/bin $(BUILD)/tests $(BUILD)/bench build/fuzz/fuzzers:
	mkdir -p $@

# libFuzzer targets (clang): each runs FUZZ_TIME seconds from its seeds.
fuzz-build: $(FUZZERS)

fuzz:
	$(MAKE) CC=clang FUZZ=1 fuzz-build
	@sh tools/run-fuzz.sh $(FUZZ_TIME) $(FUZZERS)

deps:
	@sh tools/deps.sh

test-unit: $(UNITS)
	@sh tools/run-unit.sh $(UNITS)

test-integration: all $(BUILD)/tests/test_db
	@sh tools/run-integration.sh $(BUILD)/bin 2

test-updown: all
	@sh tests/updown.sh

# make install into a scratch folder: units verified, the installed stack
# run, its logs rotated, its backup restored (tests/install.sh).
test-install: all
	@CC=$(CC) sh tests/install.sh

PREFIX  ?= /opt/aisha
ETC     ?= /etc/aisha
install: all web
	@PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) ETC=$(ETC) BIN=$(BUILD)/bin sh tools/install.sh

# A new release: installed beside the running one, migrated, switched to,
# lighttpd reloaded gracefully (docs/DEPLOYMENT.md, Upgrades).
deploy: all web
	@PREFIX=$(PREFIX) ETC=$(ETC) BIN=$(BUILD)/bin sh tools/deploy.sh

rollback:
	@PREFIX=$(PREFIX) ETC=$(ETC) sh tools/deploy.sh --rollback

# The dashboard's one library (uPlot), from npm, shipped with the page.
web: web/vendor/uPlot.iife.min.js

web/vendor/uPlot.iife.min.js: web/package.json web/package-lock.json
	@sh tools/deps.sh web
	cd web && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p web/vendor
	cp web/node_modules/uplot/dist/uPlot.iife.min.js web/node_modules/uplot/dist/uPlot.min.css web/vendor/

# A tarball of the programs for a shared host (docs/SHARED_HOSTING.md).
dist: all web
	@BIN=$(BUILD)/bin sh tools/dist.sh

# The deploy test: 60 requests in flight across a deploy with a new
# migration, and a deploy whose migration fails (tests/deploy.sh).
test-deploy: all
	@CC=$(CC) sh tests/deploy.sh

# The short reliability pass (kill -9, database restart, outages, load).
test-reliability: all
	$(PY) tests/reliability/run.py --bin $(BUILD)/bin --short

# The whole flow with the functions as plain CGI under mod_cgi (shared
# hosting: docs/SHARED_HOSTING.md).
test-cgi: all
	$(PY) tests/cgi/run.py --bin $(BUILD)/bin

# The dashboard in Debian's headless Chromium (tests/browser); its
# screenshot goes to docs/dashboard.png.
test-browser: all web
	@sh tools/deps.sh browser
	$(PY) tests/browser/run.py --bin $(BUILD)/bin --screenshot docs/dashboard.png

# Two servers on one database (tests/multinode).
test-multinode: all
	$(PY) tests/multinode/run.py --bin $(BUILD)/bin

test: test-unit test-integration test-cgi test-multinode test-reliability

# What CI runs: both compilers build clean, then the tests, then the tests
# again under the sanitizers.
check: deps
	$(MAKE) CC=clang all
	$(MAKE) CC=gcc test
	$(MAKE) CC=gcc test-updown
	$(MAKE) CC=gcc test-install
	$(MAKE) CC=gcc test-deploy
	$(MAKE) CC=gcc test-browser
	$(MAKE) CC=clang SANITIZE=1 test
	$(MAKE) fuzz FUZZ_TIME=30

# The full reliability suite (docs/RELIABILITY.md): the long kill -9,
# restart, outage and load tests, 10 million runs of each fuzzer, valgrind.
reliability: deps all
	$(PY) tests/reliability/run.py --bin $(BUILD)/bin
	$(MAKE) fuzz FUZZ_TIME=runs:10000000
	$(MAKE) valgrind

# Planted mutations that the tests must catch (docs/TESTING.md).
mutants: deps
	$(PY) tools/mutants.py $(MUTANTS_ARGS)

valgrind: all
	@sh tools/valgrind.sh $(BUILD)/bin $(VALGRIND_ARGS)

# Speed and memory (docs/BENCHMARKS.md); BENCH_ARGS=--quick for a short pass.
bench: deps all $(BUILD)/bench/hello $(BUILD)/bench/one_select
	@sh tools/deps.sh bench
	$(PY) bench/run.py --bin $(BUILD)/bin $(BENCH_ARGS)

up: deps all web
	@sh tools/up.sh

down:
	@sh tools/down.sh

chat:
	@$(PY) sandbox/chat.py

cron-install: all
	@sh cron/install.sh

clean:
	rm -rf build bin

help:
	@sed -n '1,17p' Makefile
