# ticketres — PGXS build.  `make && make install`, then see README.md.
EXTENSION  = ticketres
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = ticketres
OBJS = \
	src/ticketres.o \
	src/spi_util.o \
	src/args.o \
	src/identity.o \
	src/locks.o \
	src/counts.o \
	src/reserve.o \
	src/lifecycle.o \
	src/metrics.o \
	src/eventlog.o \
	src/redis_url.o \
	src/redis_conn.o \
	src/redis_held.o \
	src/redis_xact.o \
	src/redis_lock.o

DATA = $(EXTENSION)--$(EXTVERSION).sql

REGRESS = 01_events 02_seats 03_reserve 04_lifecycle 05_errors
REGRESS_OPTS = --load-extension=$(EXTENSION)

PG_CPPFLAGS = -I$(srcdir)/src
SHLIB_LINK += -lhiredis
PG_CFLAGS  += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: every module includes these
$(OBJS): src/ticketres.h src/errors.h src/redis_int.h

.PHONY: test demo bench
test:
	./test/run_all.sh
demo:
	./test/demo.sh
bench:
	./test/bench/run.sh
