# ticketres — PGXS build.  `make && make install`, then see README.md.
EXTENSION  = ticketres
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = ticketres
OBJS = \
	src/ticketres.o \
	src/spi_util.o \
	src/args.o \
	src/errors.o \
	src/identity.o \
	src/locks.o \
	src/counts.o \
	src/inventory.o \
	src/seatgen.o \
	src/best.o \
	src/ga.o \
	src/reserve.o \
	src/lifecycle.o \
	src/metrics.o \
	src/eventlog.o \
	src/rowrules.o \
	src/redis_url.o \
	src/redis_conn.o \
	src/redis_held.o \
	src/redis_xact.o \
	src/redis_lock.o

# Install scripts.  0.1 is released and frozen (ticketres--0.1.sql).  The
# 0.2 scripts are generated from one source, src/sql/, organized by concern:
#   full install   = 00_schema.sql (tables, types) + the object files
#   0.1 -> 0.2     = upgrade/0.1--0.2.sql (table changes) + the object files
# The object files (10_ .. 90_) only CREATE OR REPLACE functions, COMMENT and
# REVOKE, so the same text installs fresh and replaces on update: a fresh and
# an updated database get the same functions by construction.  When 0.2 is
# released, both generated scripts are committed and frozen like 0.1.
SQL_SCHEMA  = src/sql/00_schema.sql
SQL_OBJECTS = $(sort $(filter-out $(SQL_SCHEMA),$(wildcard src/sql/[0-9]*.sql)))
SQL_UPGRADE = src/sql/upgrade/0.1--$(EXTVERSION).sql

DATA_built = $(EXTENSION)--$(EXTVERSION).sql $(EXTENSION)--0.1--$(EXTVERSION).sql
DATA = $(EXTENSION)--0.1.sql

REGRESS = 01_events 02_seats 03_reserve 04_lifecycle 05_errors 06_ga_best
REGRESS_OPTS = --load-extension=$(EXTENSION)
# isolation specs: specs/NAME.spec against expected/NAME.out (the spec
# reserve_prepared_stripe needs max_prepared_transactions > 0)
ISOLATION = reserve_reserve reserve_cancel confirm_lazy_expiry confirm_swept_expiry \
	cancel_lazy_expiry idempotent_retry release_confirm extend_expiry block_reserve \
	delete_event_reserve reserve_prepared_stripe ga_borrow best_skip reserve_event_first
ISOLATION_OPTS = --load-extension=$(EXTENSION)

PG_CPPFLAGS = -I$(srcdir)/src
SHLIB_LINK += -lhiredis
PG_CFLAGS  += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_SCHEMA) $(SQL_OBJECTS)
	{ printf -- '-- ticketres $(EXTVERSION): install script, generated from src/sql/ by make.\n'; \
	  printf '\\echo Use "CREATE EXTENSION ticketres" to load this file. \\quit\n\n'; \
	  cat $^; } >$@

$(EXTENSION)--0.1--$(EXTVERSION).sql: $(SQL_UPGRADE) $(SQL_OBJECTS)
	{ printf -- '-- ticketres 0.1 -> $(EXTVERSION): upgrade script, generated from src/sql/ by make.\n'; \
	  printf '\\echo Use "ALTER EXTENSION ticketres UPDATE TO '"'"'$(EXTVERSION)'"'"'" to load this file. \\quit\n\n'; \
	  cat $^; } >$@

# PGXS tracks no header dependencies: every module includes these
$(OBJS): src/ticketres.h src/errors.h src/redis_int.h

.PHONY: test demo bench deb dist
test:
	./test/run_all.sh
demo:
	./test/demo.sh
bench:
	./test/bench/run.sh

# Debian package postgresql-15-ticketres (debian/, pg_buildext), built in a
# copy under test/tmp/deb
deb:
	./test/build_deb.sh

# The archive PGXN takes: HEAD as ticketres-X.Y.Z.zip with one top directory;
# X.Y.Z is default_version as a semantic version (META.json says the same)
DISTVERSION = $(if $(word 3,$(subst ., ,$(EXTVERSION))),$(EXTVERSION),$(EXTVERSION).0)
DIST_DIR ?= .
dist:
	git archive --format=zip --prefix=$(EXTENSION)-$(DISTVERSION)/ \
		-o $(DIST_DIR)/$(EXTENSION)-$(DISTVERSION).zip HEAD
