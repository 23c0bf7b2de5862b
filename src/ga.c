/*
 * ga.c — tr_reserve_ga: hold tickets of a general admission area (DESIGN §8).
 *
 * The steps of tr_reserve (reserve.c) with tickets instead of seats:
 * arguments; the event's lock, shared, never waiting; idempotency (the same
 * request returns the original, another is PT422); the event (exists,
 * booking open, quantity allowed); the area; the tickets; the reservation.
 *
 * The tickets come from the area's striped counter (ticketres.ga_counts):
 * this backend's stripe when nobody holds it and it has enough, else the
 * next stripe after it nobody holds that has enough, else such a stripe
 * before it: one UPDATE each, none ever waiting.  When neither has enough, the rest of the rule lives in
 * ticketres._ga_take (src/sql/35_general_admission.sql): lazy expiry of the
 * area's overdue holds, borrowing across stripes, and the sold-out rule.
 * Errors of the rare paths (unknown area) come from the SQL helpers, so
 * their text is written once.
 */
#include "ticketres.h"

#include "catalog/pg_type.h"
#include "errors.h"
#include "utils/builtins.h"

/* Run a SQL helper of the rare paths: SELECT fn($1, $2). */
static void
ga_helper(const char *sql, Datum a, Oid ta, Datum b, Oid tb)
{
	Oid			types[2] = {ta, tb};
	Datum		values[2] = {a, b};

	if (SPI_execute_with_args(sql, 2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "ticketres: %s failed", sql);
}

PG_FUNCTION_INFO_V1(tr_reserve_ga);

/*
 * tr_reserve_ga(event_id uuid, area text, quantity int, user_id text,
 *               idempotency_key text, hold interval) returns ticketres.reservations
 */
Datum
tr_reserve_ga(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	TimestampTz now = GetCurrentTimestamp();
	pg_uuid_t  *event;
	Datum		area;
	int32		quantity;
	char	   *user;
	char	   *key = NULL;
	int64		hold_usecs = -1;
	Datum		area_id;
	int64		price;
	bool		isnull;
	pg_uuid_t	res_id;
	Datum		result;
	TrLogEvent	e = {0};

	tr_check_not_null(fcinfo, 0, "event_id");
	if (PG_ARGISNULL(1) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(1)) == 0)
		tr_bad_argument("area must not be empty");
	if (PG_ARGISNULL(2) || PG_GETARG_INT32(2) < 1 || PG_GETARG_INT32(2) > TR_MAX_SEATS_PER_CALL)
		tr_bad_argument("quantity must be between 1 and %d", TR_MAX_SEATS_PER_CALL);
	event = PG_GETARG_UUID_P(0);
	area = PG_GETARG_DATUM(1);
	quantity = PG_GETARG_INT32(2);
	user = tr_caller(fcinfo, 3);
	if (!PG_ARGISNULL(4))
		key = tr_text_arg(fcinfo, 4, "idempotency_key", TR_MAX_KEY_LEN);

	tr_reserve_begin(event);
	if (key != NULL)
	{
		/* the same request: same event, area and quantity */
		Oid			types[4] = {UUIDOID, UUIDOID, INT4OID, TEXTOID};
		Datum		values[4] = {0, UUIDPGetDatum(event), Int32GetDatum(quantity), area};

		tr_lock_idempotency_key(user, key);
		if (tr_replay_same(user, key, now,
						   "SELECT x.event_id = $2 AND x.quantity = $3 AND"
						   " (SELECT a.name FROM ticketres.ga_areas a WHERE a.id = x.ga_area_id) = $4"
						   " FROM ticketres.reservations x WHERE x.id = $1",
						   4, types, values, NULL))
		{
			result = tr_result_row(fcinfo, outer, 0);
			SPI_finish();
			PG_RETURN_DATUM(result);
		}
	}
	if (!PG_ARGISNULL(5))
		hold_usecs = tr_hold_usecs(PG_GETARG_INTERVAL_P(5));
	hold_usecs = tr_check_event(event, quantity, now, hold_usecs);

	{
		Datum		values[2] = {UUIDPGetDatum(event), area};

		if (tr_exec(TP_GA_AREA, values, NULL, SPI_OK_SELECT) == 0)
		{
			/* raises area not found (or event not found) */
			ga_helper("SELECT ticketres._area_of($1, $2)", UUIDPGetDatum(event), UUIDOID, area, TEXTOID);
			elog(ERROR, "ticketres: area vanished while it was looked up");
		}
		area_id = PointerGetDatum(palloc(UUID_LEN));
		memcpy(DatumGetPointer(area_id), DatumGetUUIDP(tr_getdatum(0, 1, &isnull)), UUID_LEN);
		price = DatumGetInt64(tr_getdatum(0, 2, &isnull));
	}
	{
		Datum		values[9];
		char		nulls[9] = "         ";

		tr_new_uuid(&res_id, event);
		values[0] = UUIDPGetDatum(&res_id);
		values[1] = UUIDPGetDatum(event);
		values[2] = CStringGetTextDatum(user);
		if (key)
			values[3] = CStringGetTextDatum(key);
		else
			nulls[3] = 'n';
		values[4] = Int64GetDatum(price * quantity);
		values[5] = TimestampTzGetDatum(now + hold_usecs);
		values[6] = TimestampTzGetDatum(now);
		values[7] = area_id;
		values[8] = Int32GetDatum(quantity);
		if (tr_exec(TP_INSERT_RES_AREA, values, nulls, SPI_OK_INSERT_RETURNING) != 1)
			elog(ERROR, "ticketres: reservation insert returned no row");
	}
	result = tr_result_row(fcinfo, outer, 0);

	/*
	 * The tickets last: a stripe's row lock is held from here to commit, and
	 * with 200 buyers on an area's stripes the time each is held decides
	 * how often a buyer finds them all taken (and waits in _ga_take).
	 */
	{
		Datum		values[3] = {area_id, Int32GetDatum(tr_count_stripe()), Int64GetDatum(quantity)};

		if (tr_exec(TP_GA_TAKE_OWN, values, NULL, SPI_OK_UPDATE) == 0 &&
			tr_exec(TP_GA_TAKE_FREE, values, NULL, SPI_OK_UPDATE) == 0 &&
			tr_exec(TP_GA_TAKE_FREE_LOW, values, NULL, SPI_OK_UPDATE) == 0)
			/* lazy expiry, borrowing, or sold out */
			ga_helper("SELECT ticketres._ga_take($1, $2)", area_id, UUIDOID,
					  Int32GetDatum(quantity), INT4OID);
	}
	SPI_finish();

	e.action = "reserve";
	e.outcome = "created";
	e.event = event;
	e.reservation = &res_id;
	e.user = user;
	e.seats = quantity;
	tr_log_change(&e);
	PG_RETURN_DATUM(result);
}
