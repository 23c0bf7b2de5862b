/*
 * spi_util.c — every SQL statement ticketres runs from C, prepared once per
 * backend and kept (SPI_prepare + SPI_keepplan), plus helpers to run them and
 * to turn a result row into the function's composite return value.
 *
 * All names are schema-qualified; the calling functions also pin search_path.
 * Seat statements touch only status, reservation_id and updated_at.  Since
 * 0.2 status is in the predicate of the two partial indexes of available
 * seats that best available reads (seats_best_idx, seats_row_idx), so a seat
 * update is no longer HOT: test/bench/ga_best.sh measures that trade.
 */
#include "ticketres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/plancache.h"

typedef struct TrPlan
{
	const char *sql;
	int			nargs;
	Oid			argtypes[4];
	SPIPlanPtr	plan;
} TrPlan;

static TrPlan tr_plans[TP__COUNT] = {
	[TP_RES_BY_KEY] = {
		/* as the owner sees it: a pending hold past expires_at is expired */
		"SELECT id, event_id, user_id, seat_ids,"
		" CASE WHEN status = 'pending' AND expires_at <= $3"
		"  THEN 'expired'::ticketres.reservation_status ELSE status END AS status,"
		" idempotency_key, total_amount, expires_at, created_at, confirmed_at, cancelled_at"
		" FROM ticketres.reservations WHERE user_id = $1 AND idempotency_key = $2",
		3, {TEXTOID, TEXTOID, TIMESTAMPTZOID}
	},
	[TP_EVENT_FOR_RESERVE] = {
		"SELECT starts_at, hold_duration, max_seats_per_reservation"
		" FROM ticketres.events WHERE id = $1",
		1, {UUIDOID}
	},
	/* the seat guard: only seats of this event that are available now */
	[TP_TAKE_SEATS] = {
		"UPDATE ticketres.seats SET status = 'reserved', reservation_id = $3, updated_at = $4"
		" WHERE id = ANY ($1) AND event_id = $2 AND status = 'available'"
		" RETURNING price",
		4, {UUIDARRAYOID, UUIDOID, UUIDOID, TIMESTAMPTZOID}
	},
	[TP_INSERT_RES] = {
		"INSERT INTO ticketres.reservations (id, event_id, user_id, seat_ids, status,"
		" idempotency_key, total_amount, expires_at, created_at)"
		" SELECT $1, $2, $3, $4, 'pending', $5, $6, $7, $8"
		" RETURNING *",
		4, {0}					/* argument types filled in tr_plan_get */
	},
	/*
	 * The availability counter (counts.c): one stripe, which the caller has
	 * made its own with the stripe's advisory lock (tr_try_lock_stripe): no
	 * other transaction can have the row locked, so the UPDATE never waits,
	 * and no row lock is taken (and WAL-logged) before it.
	 */
	[TP_COUNT_ADD] = {
		"UPDATE ticketres.seat_counts SET available = available + $3"
		" WHERE event_id = $1 AND stripe = $2",
		3, {UUIDOID, INT4OID, INT8OID}
	},
	[TP_COUNT_ADD_NEW] = {
		"INSERT INTO ticketres.seat_counts (event_id, stripe, available)"
		" SELECT $1, nextval('ticketres.seat_counts_overflow_seq'), $2"
		" WHERE EXISTS (SELECT FROM ticketres.seat_counts WHERE event_id = $1)",
		2, {UUIDOID, INT8OID}
	},
	/* overflow stripes nobody has locked, removed: their sums per event */
	[TP_COUNT_FOLD] = {
		"WITH d AS (DELETE FROM ticketres.seat_counts c"
		"   WHERE (c.event_id, c.stripe) IN (SELECT event_id, stripe FROM ticketres.seat_counts"
		"     WHERE stripe >= 64 LIMIT $1 FOR UPDATE SKIP LOCKED)"
		"   RETURNING c.event_id, c.available)"
		" SELECT event_id, sum(available)::int8 FROM d GROUP BY event_id",
		1, {INT4OID}
	},
	/* overdue holds on the requested seats that nobody else is working on */
	[TP_LOCK_OVERDUE] = {
		"SELECT r.id FROM ticketres.reservations r"
		" WHERE r.id IN (SELECT s.reservation_id FROM ticketres.seats s"
		"   WHERE s.id = ANY ($1) AND s.event_id = $2 AND s.status = 'reserved')"
		" AND r.status = 'pending' AND r.expires_at <= $3"
		" FOR UPDATE OF r SKIP LOCKED",
		3, {UUIDARRAYOID, UUIDOID, TIMESTAMPTZOID}
	},
	/*
	 * Expire pending reservations and give back exactly the seats that still
	 * belong to them; per event: reservations expired, seats released, and
	 * per reservation id, user and seats released (for the event log). The
	 * guard re-checks expires_at: the ids were read before the seat locks
	 * were taken, and tr_extend_hold may have committed in between.
	 */
	[TP_EXPIRE_BY_IDS] = {
		"WITH r AS (UPDATE ticketres.reservations SET status = 'expired'"
		"   WHERE id = ANY ($1) AND status = 'pending' AND expires_at <= $2"
		"   RETURNING id, event_id, user_id, seat_ids),"
		" u AS (UPDATE ticketres.seats s SET status = 'available', reservation_id = NULL,"
		"   updated_at = $2"
		"   FROM (SELECT r.id AS rid, unnest(r.seat_ids) AS sid FROM r) x"
		"   WHERE s.id = x.sid AND s.reservation_id = x.rid AND s.status = 'reserved'"
		"   RETURNING x.rid),"
		" e AS (SELECT r.event_id, r.id, r.user_id, count(u.rid) AS nseats"
		"   FROM r LEFT JOIN u ON u.rid = r.id GROUP BY r.event_id, r.id, r.user_id)"
		" SELECT event_id, count(*), sum(nseats)::int8,"
		"   array_agg(id), array_agg(user_id), array_agg(nseats)"
		" FROM e GROUP BY event_id",
		2, {UUIDARRAYOID, TIMESTAMPTZOID}
	},
	/* why a guard came up short: requested seats that are not ours */
	[TP_SEAT_DIAG] = {
		"SELECT q.id, s.status::text,"
		" coalesce(r.status = 'pending' AND r.expires_at <= $3, false)"
		" FROM unnest($1::uuid[]) AS q(id)"
		" LEFT JOIN ticketres.seats s ON s.id = q.id AND s.event_id = $2"
		" LEFT JOIN ticketres.reservations r ON r.id = s.reservation_id"
		" WHERE s.reservation_id IS DISTINCT FROM $4 ORDER BY q.id",
		4, {UUIDARRAYOID, UUIDOID, TIMESTAMPTZOID, UUIDOID}
	},
	[TP_RES_BY_ID] = {
		"SELECT user_id, status::text, expires_at, seat_ids, event_id"
		" FROM ticketres.reservations WHERE id = $1",
		1, {UUIDOID}
	},
	[TP_CONFIRM_RES] = {
		"UPDATE ticketres.reservations SET status = 'confirmed', confirmed_at = $2"
		" WHERE id = $1 AND status = 'pending' AND expires_at > $2 RETURNING *",
		2, {UUIDOID, TIMESTAMPTZOID}
	},
	[TP_CONFIRM_SEATS] = {
		"UPDATE ticketres.seats SET status = 'confirmed', updated_at = $3"
		" WHERE id = ANY ($2) AND reservation_id = $1 AND status = 'reserved'",
		3, {UUIDOID, UUIDARRAYOID, TIMESTAMPTZOID}
	},
	[TP_CANCEL_RES] = {
		"UPDATE ticketres.reservations SET status = 'cancelled', cancelled_at = $2"
		" WHERE id = $1 AND status = 'pending' RETURNING *",
		2, {UUIDOID, TIMESTAMPTZOID}
	},
	[TP_RELEASE_SEATS] = {
		"UPDATE ticketres.seats SET status = 'available', reservation_id = NULL, updated_at = $3"
		" WHERE id = ANY ($2) AND reservation_id = $1 AND status = 'reserved'",
		3, {UUIDOID, UUIDARRAYOID, TIMESTAMPTZOID}
	},
	/*
	 * Keyset-paged over the per-event pending index so that holds skipped as
	 * busy are not fetched again: $2 is the last (event_id, expires_at, id).
	 */
	[TP_EXPIRE_CANDIDATES] = {
		"SELECT id, seat_ids, expires_at, event_id FROM ticketres.reservations"
		" WHERE status = 'pending' AND expires_at <= $1"
		" AND (event_id, expires_at, id) > ($2, $3, $4)"
		" ORDER BY event_id, expires_at, id LIMIT $5",
		5, {0}					/* argument types filled in tr_plan_get */
	},
	[TP_AVAILABLE] = {
		"SELECT (SELECT sum(available) FROM ticketres.seat_counts WHERE event_id = $1)::int8,"
		" (SELECT coalesce(sum(cardinality(seat_ids)), 0) FROM ticketres.reservations"
		"   WHERE status = 'pending' AND expires_at <= $2 AND event_id = $1)::int8",
		2, {UUIDOID, TIMESTAMPTZOID}
	},
	/* 0.2 variants, for a database with the GA columns (tr_has_ga) */
	[TP_RES_BY_KEY_GA] = {
		"SELECT id, event_id, user_id, seat_ids,"
		" CASE WHEN status = 'pending' AND expires_at <= $3"
		"  THEN 'expired'::ticketres.reservation_status ELSE status END AS status,"
		" idempotency_key, total_amount, expires_at, created_at, confirmed_at, cancelled_at,"
		" ga_area_id, quantity"
		" FROM ticketres.reservations WHERE user_id = $1 AND idempotency_key = $2",
		3, {TEXTOID, TEXTOID, TIMESTAMPTZOID}
	},
	[TP_INSERT_RES_GA] = {
		"INSERT INTO ticketres.reservations (id, event_id, user_id, seat_ids, status,"
		" idempotency_key, total_amount, expires_at, created_at, quantity)"
		" SELECT $1, $2, $3, $4, 'pending', $5, $6, $7, $8, cardinality($4)"
		" RETURNING *",
		4, {0}					/* argument types filled in tr_plan_get */
	},
	[TP_RES_BY_ID_GA] = {
		"SELECT user_id, status::text, expires_at, seat_ids, event_id, ga_area_id, quantity"
		" FROM ticketres.reservations WHERE id = $1",
		1, {UUIDOID}
	},
	/* as TP_EXPIRE_BY_IDS, plus per event the GA areas and quantities freed */
	[TP_EXPIRE_BY_IDS_GA] = {
		"WITH r AS (UPDATE ticketres.reservations SET status = 'expired'"
		"   WHERE id = ANY ($1) AND status = 'pending' AND expires_at <= $2"
		"   RETURNING id, event_id, user_id, seat_ids, ga_area_id, quantity),"
		" u AS (UPDATE ticketres.seats s SET status = 'available', reservation_id = NULL,"
		"   updated_at = $2"
		"   FROM (SELECT r.id AS rid, unnest(r.seat_ids) AS sid FROM r) x"
		"   WHERE s.id = x.sid AND s.reservation_id = x.rid AND s.status = 'reserved'"
		"   RETURNING x.rid),"
		" e AS (SELECT r.event_id, r.id, r.user_id, r.ga_area_id, r.quantity,"
		"   count(u.rid) AS nseats"
		"   FROM r LEFT JOIN u ON u.rid = r.id"
		"   GROUP BY r.event_id, r.id, r.user_id, r.ga_area_id, r.quantity)"
		" SELECT event_id, count(*), sum(nseats)::int8,"
		"   array_agg(id), array_agg(user_id),"
		"   array_agg(CASE WHEN ga_area_id IS NULL THEN nseats ELSE quantity END::int8),"
		"   array_agg(ga_area_id) FILTER (WHERE ga_area_id IS NOT NULL),"
		"   array_agg(quantity::int8) FILTER (WHERE ga_area_id IS NOT NULL)"
		" FROM e GROUP BY event_id",
		2, {UUIDARRAYOID, TIMESTAMPTZOID}
	},
	/*
	 * The GA ticket counter (never waits): its stripes are claimed by row
	 * locks taken with SKIP LOCKED, the way ga.c takes tickets from them.
	 */
	[TP_GA_ADD] = {
		"UPDATE ticketres.ga_counts SET available = available + $3"
		" WHERE area_id = $1 AND stripe = (SELECT stripe FROM ticketres.ga_counts"
		"   WHERE area_id = $1 AND stripe = $2 FOR UPDATE SKIP LOCKED)",
		3, {UUIDOID, INT4OID, INT8OID}
	},
	[TP_GA_ADD_FREE] = {
		"UPDATE ticketres.ga_counts SET available = available + $2"
		" WHERE area_id = $1 AND stripe = (SELECT stripe FROM ticketres.ga_counts"
		"   WHERE area_id = $1 ORDER BY stripe LIMIT 1 FOR UPDATE SKIP LOCKED)",
		2, {UUIDOID, INT8OID}
	},
	[TP_GA_ADD_NEW] = {
		"INSERT INTO ticketres.ga_counts (area_id, stripe, available)"
		" SELECT $1, 256 + nextval('ticketres.seat_counts_overflow_seq'), $2"
		" WHERE EXISTS (SELECT FROM ticketres.ga_areas WHERE id = $1)",
		2, {UUIDOID, INT8OID}
	},
	/*
	 * Best available (best.c): the available seats in rank order, from the
	 * partial index seats_best_idx, so the stream starts at the best free
	 * seat however full the event is.  Together: only seats with a place in
	 * a row; singles: every seat.  best_free is status = 'available' for
	 * the seats of an event sold by best available (00_schema.sql).
	 */
	[TP_BEST_STREAM] = {
		"SELECT rank, section, row_label FROM ticketres.seats"
		" WHERE event_id = $1 AND best_free"
		" AND ($2::text IS NULL OR section = $2) AND ($3::int8 IS NULL OR price <= $3)"
		" AND section IS NOT NULL AND row_label IS NOT NULL AND seat_number IS NOT NULL"
		" ORDER BY rank, section, row_label, seat_number",
		3, {UUIDOID, TEXTOID, INT8OID}
	},
	[TP_BEST_SINGLES] = {
		"SELECT id FROM ticketres.seats"
		" WHERE event_id = $1 AND best_free"
		" AND ($2::text IS NULL OR section = $2) AND ($3::int8 IS NULL OR price <= $3)"
		" ORDER BY rank, section, row_label, seat_number",
		3, {UUIDOID, TEXTOID, INT8OID}
	},
	/* the available seats of one row (seats_row_idx), by seat number */
	[TP_BEST_ROW] = {
		"SELECT seat_number, rank, id FROM ticketres.seats"
		" WHERE event_id = $1 AND section = $2 AND row_label = $3 AND best_free"
		" AND seat_number IS NOT NULL AND ($4::int8 IS NULL OR price <= $4)"
		" ORDER BY seat_number",
		4, {UUIDOID, TEXTOID, TEXTOID, INT8OID}
	},
	/* which of the seats (locked by the caller) are still available */
	[TP_BEST_STILL_FREE] = {
		"SELECT id FROM ticketres.seats WHERE id = ANY ($1) AND event_id = $2 AND status = 'available'",
		2, {UUIDARRAYOID, UUIDOID}
	},
	/* whether the event is sold by best available (tr_set_best_available) */
	[TP_BEST_EVENT] = {
		"SELECT best_available FROM ticketres.events WHERE id = $1",
		1, {UUIDOID}
	},
	/* general admission (ga.c): the area of a reserve */
	[TP_GA_AREA] = {
		"SELECT id, price FROM ticketres.ga_areas WHERE event_id = $1 AND name = $2",
		2, {UUIDOID, TEXTOID}
	},
	/*
	 * Tickets from this backend's stripe when nobody holds it and it has
	 * enough, else from the first such stripe: the row lock taken by the
	 * subquery is the one the UPDATE needs, so neither ever waits.
	 */
	[TP_GA_TAKE_OWN] = {
		"UPDATE ticketres.ga_counts c SET available = c.available - $3"
		" WHERE c.area_id = $1 AND c.stripe = (SELECT x.stripe FROM ticketres.ga_counts x"
		"   WHERE x.area_id = $1 AND x.stripe = $2 AND x.available >= $3 FOR UPDATE SKIP LOCKED)",
		3, {UUIDOID, INT4OID, INT8OID}
	},
	/*
	 * The next stripes after this backend's, then the ones before it: each
	 * an index-ordered scan that stops at the first stripe nobody holds with
	 * enough, and backends whose stripes are taken spread over the others
	 * instead of all trying the lowest first.
	 */
	[TP_GA_TAKE_FREE] = {
		"UPDATE ticketres.ga_counts c SET available = c.available - $3"
		" WHERE c.area_id = $1 AND c.stripe = (SELECT x.stripe FROM ticketres.ga_counts x"
		"   WHERE x.area_id = $1 AND x.stripe > $2 AND x.available >= $3"
		"   ORDER BY x.stripe LIMIT 1 FOR UPDATE SKIP LOCKED)",
		3, {UUIDOID, INT4OID, INT8OID}
	},
	[TP_GA_TAKE_FREE_LOW] = {
		"UPDATE ticketres.ga_counts c SET available = c.available - $3"
		" WHERE c.area_id = $1 AND c.stripe = (SELECT x.stripe FROM ticketres.ga_counts x"
		"   WHERE x.area_id = $1 AND x.stripe < $2 AND x.available >= $3"
		"   ORDER BY x.stripe LIMIT 1 FOR UPDATE SKIP LOCKED)",
		3, {UUIDOID, INT4OID, INT8OID}
	},
	[TP_INSERT_RES_AREA] = {
		"INSERT INTO ticketres.reservations (id, event_id, user_id, seat_ids, status,"
		" idempotency_key, total_amount, expires_at, created_at, ga_area_id, quantity)"
		" SELECT $1, $2, $3, '{}', 'pending', $4, $5, $6, $7, $8, $9"
		" RETURNING *",
		4, {0}					/* argument types filled in tr_plan_get */
	},
};

/* the statements with more than four arguments */
static const Oid insert_res_types[] = {
	UUIDOID, UUIDOID, TEXTOID, UUIDARRAYOID, TEXTOID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID
};
static const Oid insert_res_area_types[] = {
	UUIDOID, UUIDOID, TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, UUIDOID, INT4OID
};
static const Oid expire_candidates_types[] = {
	TIMESTAMPTZOID, UUIDOID, TIMESTAMPTZOID, UUIDOID, INT4OID
};

/* whether the statement is read through a cursor, a few rows at a time */
static bool
tr_plan_is_stream(TrPlanId id)
{
	return id == TP_BEST_STREAM || id == TP_BEST_SINGLES;
}

/* Prepare a statement on first use and keep the plan for the backend's life. */
static SPIPlanPtr
tr_plan_get(TrPlanId id)
{
	TrPlan	   *p = &tr_plans[id];

	if (p->plan == NULL)
	{
		const Oid  *types = p->argtypes;
		int			nargs = p->nargs;
		SPIPlanPtr	plan;

		if (id == TP_INSERT_RES || id == TP_INSERT_RES_GA)
		{
			types = insert_res_types;
			nargs = lengthof(insert_res_types);
		}
		else if (id == TP_INSERT_RES_AREA)
		{
			types = insert_res_area_types;
			nargs = lengthof(insert_res_area_types);
		}
		else if (id == TP_EXPIRE_CANDIDATES)
		{
			types = expire_candidates_types;
			nargs = lengthof(expire_candidates_types);
		}
		/*
		 * Generic plans: every statement is an index lookup whatever its
		 * arguments, and a custom plan per call (the plan cache's choice for
		 * array arguments, whose size it sees) costs a planning per call.
		 */
		/*
		 * The statements read through a cursor (the best-available streams)
		 * are read a few rows at a time: planned for their first rows, an
		 * index scan in the wanted order, not a sort of every row.
		 */
		plan = SPI_prepare_cursor(p->sql, nargs, (Oid *) types,
								  CURSOR_OPT_GENERIC_PLAN |
								  (tr_plan_is_stream(id) ? CURSOR_OPT_FAST_PLAN : 0));
		if (plan == NULL)
			elog(ERROR, "ticketres: SPI_prepare failed for statement %d: %s",
				 (int) id, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "ticketres: SPI_keepplan failed for statement %d", (int) id);
		p->plan = plan;
	}
	return p->plan;
}

/*
 * Whether running the saved plan will plan it first: no valid generic plan
 * is kept yet, or the plan cache keeps choosing custom plans (the rule of
 * choose_custom_plan in plancache.c: generic once it is no dearer).
 */
static bool
tr_plan_will_plan(SPIPlanPtr plan)
{
	ListCell   *lc;

	foreach(lc, SPI_plan_get_plan_sources(plan))
	{
		CachedPlanSource *ps = (CachedPlanSource *) lfirst(lc);

		if (!ps->is_valid || ps->gplan == NULL || !ps->gplan->is_valid)
			return true;
		if (ps->cursor_options & CURSOR_OPT_GENERIC_PLAN)
			continue;
		if (ps->num_custom_plans == 0 ||
			ps->generic_cost >= ps->total_custom_cost / ps->num_custom_plans)
			return true;
	}
	return false;
}

/*
 * The settings a statement is planned with (see tr_exec); returns the GUC
 * nest level to pop.  No JIT: the plan is kept, and JIT is decided when
 * planning, from the estimated cost.  A generic plan over a big table (the
 * best-available stream of a 1,000,000-seat event: the estimate counts every
 * row, the call reads a few dozen) would compile its expressions on every
 * execution, some 13 ms of a call that needs 1.
 */
static int
tr_plan_settings(void)
{
	int			nest = NewGUCNestLevel();

	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

/*
 * Run a saved statement; any result code other than the expected one is an
 * internal error. Returns the number of rows processed.
 *
 * The plan cache plans a statement on first use and keeps the plan until an
 * invalidation: one planned while a table is still small (the first on-sale
 * after install) scans it, and keeps scanning as it grows, every call, until
 * autovacuum's next ANALYZE. Every statement here is meant to be an index
 * lookup, so they are planned, whenever that happens, with sequential scans
 * and JIT off (once a valid generic plan is kept, running it plans nothing,
 * and the settings are left alone: they cost a GUC push and pop).
 */
uint64
tr_exec(TrPlanId id, Datum *values, const char *nulls, int expected_rc)
{
	SPIPlanPtr	plan = tr_plan_get(id);
	int			nest = -1;
	int			rc;

	if (tr_plan_will_plan(plan))
		nest = tr_plan_settings();
	rc = SPI_execute_plan(plan, values, nulls, false, 0);
	if (nest >= 0)
		AtEOXact_GUC(true, nest);
	if (rc != expected_rc)
		elog(ERROR, "ticketres: statement %d returned %s, expected %s",
			 (int) id, SPI_result_code_string(rc), SPI_result_code_string(expected_rc));
	return SPI_processed;
}

/*
 * Open a saved statement as a cursor (read-write: each fetch sees the
 * snapshot taken when it was opened), planned like tr_exec plans.
 */
Portal
tr_cursor_open(TrPlanId id, Datum *values, const char *nulls)
{
	SPIPlanPtr	plan = tr_plan_get(id);
	int			nest = -1;
	Portal		portal;

	if (tr_plan_will_plan(plan))
	{
		nest = tr_plan_settings();
		/* planned for the first few rows of a possibly huge result */
		(void) set_config_option("cursor_tuple_fraction", "0.000001", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	}
	portal = SPI_cursor_open(NULL, plan, values, nulls, false);
	if (nest >= 0)
		AtEOXact_GUC(true, nest);
	if (portal == NULL)
		elog(ERROR, "ticketres: could not open a cursor for statement %d: %s",
			 (int) id, SPI_result_code_string(SPI_result));
	return portal;
}

/* Column col (1-based) of row row of the last result. */
Datum
tr_getdatum(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

/*
 * Build the function's composite result from a row of the last SPI result,
 * matching columns by name: a column the result type has and the row lacks
 * is NULL, so a column added to a table breaks no statement.  The tuple is
 * formed in the caller's memory context so it outlives SPI_finish.
 */
Datum
tr_result_row(FunctionCallInfo fcinfo, MemoryContext outer, int row)
{
	TupleDesc	rdesc;
	TupleDesc	sdesc = SPI_tuptable->tupdesc;
	HeapTuple	stup = SPI_tuptable->vals[row];
	Datum	   *values;
	bool	   *isnull;
	MemoryContext old;
	Datum		result;

	if (get_call_result_type(fcinfo, NULL, &rdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "ticketres: function must return a composite type");
	values = palloc0(sizeof(Datum) * rdesc->natts);
	isnull = palloc0(sizeof(bool) * rdesc->natts);
	for (int i = 0; i < rdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(rdesc, i);
		int			col = att->attisdropped ? SPI_ERROR_NOATTRIBUTE :
			SPI_fnumber(sdesc, NameStr(att->attname));

		if (col <= 0)
		{
			isnull[i] = true;
			continue;
		}
		if (SPI_gettypeid(sdesc, col) != att->atttypid)
			elog(ERROR, "ticketres: column \"%s\" of the result has the wrong type",
				 NameStr(att->attname));
		values[i] = SPI_getbinval(stup, sdesc, col, &isnull[i]);
	}
	old = MemoryContextSwitchTo(outer);
	result = heap_copy_tuple_as_datum(heap_form_tuple(rdesc, values, isnull), rdesc);
	MemoryContextSwitchTo(old);
	return result;
}
