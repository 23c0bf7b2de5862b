/*
 * reserve.c — tr_reserve: hold seats, all or nothing.
 *
 * Order of work, each step cheap and none waiting on another buyer:
 *   1. check every argument (args.c, identity.c);
 *   1b. the event's lock, shared and without waiting (locks.c): keeps
 *      tr_delete_event out while this call works;
 *   2. idempotency: lock (user_id, key), replay the original if it exists;
 *   3. the event: exists, booking open, seat count allowed;
 *   4. advisory locks on all seats in sorted order, busy at once; then,
 *      when ticketres.redis_url is set, their Redis keys (redis.c);
 *   5. the seat guard: one UPDATE ... WHERE status = 'available' whose row
 *      count must be the number of seats; when short, expire the overdue
 *      holds on those seats (lazy expiry) and guard again; still short, say
 *      why (not found / unavailable / busy) and abort everything;
 *   6. insert the reservation, move the availability counter.
 * tr_reserve wraps it all to count and time every call by outcome (metrics.c)
 * and log the holds it makes (eventlog.c).
 */
#include "ticketres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "errors.h"
#include "utils/builtins.h"
#include "utils/array.h"

/*
 * A fresh reservation id of an event, UUIDv7-shaped: the first 48 bits are
 * the Unix time in milliseconds, then the version (7), 42 random bits with
 * the variant, and the last four bytes are the event id's: a router that
 * places events by those bytes (see doc/scale-out.md) finds a reservation's
 * shard from its id alone.  Time-ordered ids go into the primary key at its
 * right edge instead of at a random leaf: fewer pages touched, dirtied and
 * written per reserve (doc/performance.md measures it).  Two ids collide
 * only with the same event, millisecond and 42 random bits.
 */
void
tr_new_uuid(pg_uuid_t *u, const pg_uuid_t *event)
{
	tr_uuid7_head(u);
	memcpy(u->data + UUID_LEN - TR_RES_ID_EVENT_BYTES,
		   event->data + UUID_LEN - TR_RES_ID_EVENT_BYTES, TR_RES_ID_EVENT_BYTES);
}

/*
 * The first 12 bytes of a UUIDv7: the Unix time in milliseconds (48 bits),
 * the version (7), 42 random bits with the variant.  The last 4 bytes are
 * the caller's: an event's (reservation ids), a seat's number in its call
 * (seatgen.c).
 */
void
tr_uuid7_head(pg_uuid_t *u)
{
	uint64		ms = (uint64) (GetCurrentTimestamp() / 1000 +
							   (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000);
	int			i;

	if (!pg_strong_random(u->data + 6, UUID_LEN - 6 - 4))
		elog(ERROR, "ticketres: could not generate a random id");
	for (i = 0; i < 6; i++)
		u->data[i] = (uint8) (ms >> (8 * (5 - i)));
	u->data[6] = (u->data[6] & 0x0f) | 0x70;
	u->data[8] = (u->data[8] & 0x3f) | 0x80;
}

/*
 * The reservation stored under (user, key), if any: returns its row index 0
 * in SPI_tuptable when it is the same request, raises PT422 when the key was
 * used for another one, returns false when the key is new.
 */
static bool
replay_lookup(const char *user, const char *key, const pg_uuid_t *event,
			  const TrSeatList *seats, TimestampTz now)
{
	Datum		values[3] = {CStringGetTextDatum(user), CStringGetTextDatum(key),
	TimestampTzGetDatum(now)};
	TupleDesc	desc;
	bool		isnull;
	pg_uuid_t  *stored_event;
	TrSeatList	stored;

	ArrayType  *stored_arr;

	if (tr_exec(tr_has_ga() ? TP_RES_BY_KEY_GA : TP_RES_BY_KEY, values, NULL, SPI_OK_SELECT) == 0)
		return false;
	desc = SPI_tuptable->tupdesc;
	stored_event = DatumGetUUIDP(tr_getdatum(0, SPI_fnumber(desc, "event_id"), &isnull));
	stored_arr = DatumGetArrayTypeP(tr_getdatum(0, SPI_fnumber(desc, "seat_ids"), &isnull));
	/* a general admission reservation has no seats: never the same request */
	stored.n = 0;
	stored.ids = NULL;
	if (ArrayGetNItems(ARR_NDIM(stored_arr), ARR_DIMS(stored_arr)) > 0)
		stored = tr_seat_list_datum(PointerGetDatum(stored_arr));
	if (memcmp(stored_event, event, UUID_LEN) != 0 || stored.n != seats->n ||
		memcmp(stored.ids, seats->ids, sizeof(pg_uuid_t) * seats->n) != 0)
		ereport(ERROR,
				(errcode(TR_ERRCODE_UNPROCESSABLE),
				 errmsg(TR_MSG_KEY_REUSED),
				 errdetail("Key \"%s\" already made reservation %s, for event %s and seats %s.",
						   key,
						   tr_uuid_str(DatumGetUUIDP(tr_getdatum(0, SPI_fnumber(desc, "id"), &isnull))),
						   tr_uuid_str(stored_event), tr_uuid_list_str(stored.ids, stored.n)),
				 errhint("Use a new idempotency key for a different request.")));
	return true;
}

/*
 * The start of every reserve call (tr_reserve, tr_reserve_ga,
 * tr_reserve_best): connect to SPI and take the event's lock, shared and
 * without waiting (tr_delete_event holds it exclusively).
 */
void
tr_reserve_begin(const pg_uuid_t *event)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ticketres: SPI_connect failed");
	if (!tr_try_lock_event(event))
		ereport(ERROR,
				(errcode(TR_ERRCODE_CONFLICT),
				 errmsg(TR_MSG_SEAT_BUSY),
				 errdetail("Event %s is being deleted or changed by a concurrent administrative call.",
						   tr_uuid_str(event)),
				 errhint("Retry shortly; nothing was reserved.")));
}

/*
 * Idempotency of the SQL-described requests (general admission, best
 * available): the reservation stored under (user, key), if any, compared
 * with this request by match_sql, whose $1 is the stored reservation's id
 * (values[0] is filled here) and whose one boolean column says whether it is
 * the same request.  The same: leaves the reservation as row 0 of
 * SPI_tuptable and returns true.  Another request: PT422.  A new key: false.
 */
bool
tr_replay_same(const char *user, const char *key, TimestampTz now, const char *match_sql,
			   int nargs, Oid *types, Datum *values, const char *nulls)
{
	Datum		kv[3] = {CStringGetTextDatum(user), CStringGetTextDatum(key), TimestampTzGetDatum(now)};
	TupleDesc	desc;
	bool		isnull;
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));	/* values[0] points at it after return */
	pg_uuid_t	event;
	Datum		same;

	if (tr_exec(TP_RES_BY_KEY_GA, kv, NULL, SPI_OK_SELECT) == 0)
		return false;
	desc = SPI_tuptable->tupdesc;
	memcpy(id, DatumGetUUIDP(tr_getdatum(0, SPI_fnumber(desc, "id"), &isnull)), UUID_LEN);
	memcpy(&event, DatumGetUUIDP(tr_getdatum(0, SPI_fnumber(desc, "event_id"), &isnull)), UUID_LEN);
	values[0] = UUIDPGetDatum(id);
	if (SPI_execute_with_args(match_sql, nargs, types, values, nulls, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "ticketres: could not compare the request with reservation %s", tr_uuid_str(id));
	same = tr_getdatum(0, 1, &isnull);
	if (isnull || !DatumGetBool(same))
		ereport(ERROR,
				(errcode(TR_ERRCODE_UNPROCESSABLE),
				 errmsg(TR_MSG_KEY_REUSED),
				 errdetail("Key \"%s\" already made reservation %s, for event %s.",
						   key, tr_uuid_str(id), tr_uuid_str(&event)),
				 errhint("Use a new idempotency key for a different request.")));
	(void) tr_exec(TP_RES_BY_KEY_GA, kv, NULL, SPI_OK_SELECT);
	return true;
}

/* Check the event and return the hold to use, in microseconds. */
int64
tr_check_event(const pg_uuid_t *event, int nseats, TimestampTz now, int64 hold_usecs)
{
	Datum		values[1] = {UUIDPGetDatum(event)};
	bool		isnull;
	TimestampTz starts_at;
	int32		max_seats;

	if (tr_exec(TP_EVENT_FOR_RESERVE, values, NULL, SPI_OK_SELECT) == 0)
		ereport(ERROR,
				(errcode(TR_ERRCODE_NOT_FOUND),
				 errmsg(TR_MSG_EVENT_NOT_FOUND),
				 errdetail("No event has id %s.", tr_uuid_str(event))));
	starts_at = DatumGetTimestampTz(tr_getdatum(0, 1, &isnull));
	max_seats = DatumGetInt32(tr_getdatum(0, 3, &isnull));
	if (now >= starts_at)
		ereport(ERROR,
				(errcode(TR_ERRCODE_CONFLICT),
				 errmsg(TR_MSG_BOOKING_CLOSED),
				 errdetail("Event %s started at %s.", tr_uuid_str(event),
						   timestamptz_to_str(starts_at)),
				 errhint("No new holds are taken once an event has started.")));
	if (nseats > max_seats)
		ereport(ERROR,
				(errcode(TR_ERRCODE_UNPROCESSABLE),
				 errmsg(TR_MSG_TOO_MANY_SEATS),
				 errdetail("%d seats were requested; event %s allows %d per reservation.",
						   nseats, tr_uuid_str(event), max_seats)));
	if (hold_usecs < 0)
		hold_usecs = tr_hold_usecs(DatumGetIntervalP(tr_getdatum(0, 2, &isnull)));
	return hold_usecs;
}

/* The seat guard; returns the number of seats taken and adds their prices. */
int
tr_take_seats(Datum seat_arr, const pg_uuid_t *event, const pg_uuid_t *res_id,
		   TimestampTz now, int64 *total)
{
	Datum		values[4] = {seat_arr, UUIDPGetDatum(event), UUIDPGetDatum(res_id),
	TimestampTzGetDatum(now)};
	int			n = (int) tr_exec(TP_TAKE_SEATS, values, NULL, SPI_OK_UPDATE_RETURNING);

	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		int64		price = DatumGetInt64(tr_getdatum(i, 1, &isnull));

		if (!isnull && pg_add_s64_overflow(*total, price, total))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("total_amount is out of range")));
	}
	return n;
}

/*
 * Lazy expiry: expire the overdue holds on the requested seats that no one
 * else is working on. Returns how many reservations were expired.
 */
static int64
expire_overdue(Datum seat_arr, const pg_uuid_t *event, TimestampTz now)
{
	Datum		values[3] = {seat_arr, UUIDPGetDatum(event), TimestampTzGetDatum(now)};
	uint64		n = tr_exec(TP_LOCK_OVERDUE, values, NULL, SPI_OK_SELECT);
	Datum	   *ids;

	if (n == 0)
		return 0;
	ids = palloc(sizeof(Datum) * n);
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		ids[i] = tr_getdatum(i, 1, &isnull);
	}
	return tr_expire_ids(PointerGetDatum(construct_array(ids, n, UUIDOID, UUID_LEN,
														 false, TYPALIGN_CHAR)), now, true);
}

/* The guard came up short: say why, naming the seats. Never returns. */
static void
report_short(Datum seat_arr, const pg_uuid_t *event, const pg_uuid_t *res_id,
			 TimestampTz now)
{
	Datum		values[4] = {seat_arr, UUIDPGetDatum(event), TimestampTzGetDatum(now),
	UUIDPGetDatum(res_id)};
	uint64		n = tr_exec(TP_SEAT_DIAG, values, NULL, SPI_OK_SELECT);
	pg_uuid_t  *missing = palloc(sizeof(pg_uuid_t) * (n + 1));
	pg_uuid_t  *taken = palloc(sizeof(pg_uuid_t) * (n + 1));
	int			nmissing = 0,
				ntaken = 0;

	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull,
					status_null;
		pg_uuid_t  *id = DatumGetUUIDP(tr_getdatum(i, 1, &isnull));
		char	   *status;
		bool		overdue;

		(void) tr_getdatum(i, 2, &status_null);
		if (status_null)
		{
			missing[nmissing++] = *id;
			continue;
		}
		status = TextDatumGetCString(tr_getdatum(i, 2, &isnull));
		overdue = DatumGetBool(tr_getdatum(i, 3, &isnull));
		if (strcmp(status, "available") != 0 && !overdue)
			taken[ntaken++] = *id;
	}
	if (nmissing > 0)
		ereport(ERROR,
				(errcode(TR_ERRCODE_NOT_FOUND),
				 errmsg(TR_MSG_SEAT_NOT_FOUND),
				 errdetail("Event %s has no seat %s.", tr_uuid_str(event),
						   tr_uuid_list_str(missing, nmissing))));
	if (ntaken > 0)
		ereport(ERROR,
				(errcode(TR_ERRCODE_CONFLICT),
				 errmsg(TR_MSG_SEAT_UNAVAILABLE),
				 errdetail("Seat %s is already held, sold or blocked.",
						   tr_uuid_list_str(taken, ntaken)),
				 errhint("Choose other seats; nothing was reserved.")));
	ereport(ERROR,
			(errcode(TR_ERRCODE_CONFLICT),
			 errmsg(TR_MSG_SEAT_BUSY),
			 errdetail("Seats of event %s changed hands while this call ran.",
					   tr_uuid_str(event)),
			 errhint("Retry the call; nothing was reserved.")));
}

/* Insert the reservation row; leaves it as row 0 of SPI_tuptable. */
void
tr_insert_reservation(const pg_uuid_t *res_id, const pg_uuid_t *event, const char *user,
				   Datum seat_arr, const char *key, int64 total, TimestampTz now,
				   int64 hold_usecs)
{
	Datum		values[8];
	char		nulls[8] = "        ";

	values[0] = UUIDPGetDatum(res_id);
	values[1] = UUIDPGetDatum(event);
	values[2] = CStringGetTextDatum(user);
	values[3] = seat_arr;
	if (key)
		values[4] = CStringGetTextDatum(key);
	else
		nulls[4] = 'n';
	values[5] = Int64GetDatum(total);
	values[6] = TimestampTzGetDatum(now + hold_usecs);
	values[7] = TimestampTzGetDatum(now);
	if (tr_exec(tr_has_ga() ? TP_INSERT_RES_GA : TP_INSERT_RES, values, nulls,
				SPI_OK_INSERT_RETURNING) != 1)
		elog(ERROR, "ticketres: reservation insert returned no row");
}

/* What a successful tr_reserve did, for metrics and the event log. */
typedef struct TrReserveDone
{
	bool		replay;
	pg_uuid_t  *event;
	pg_uuid_t	res_id;
	char	   *user;
	int			nseats;
	int64		lazy_expired;
} TrReserveDone;

/*
 * tr_reserve proper; returns the reservation and fills *done.
 */
static Datum
reserve_call(FunctionCallInfo fcinfo, TrReserveDone *done)
{
	MemoryContext outer = CurrentMemoryContext;
	TimestampTz now = GetCurrentTimestamp();
	pg_uuid_t  *event;
	char	   *user;
	TrSeatList	seats;
	char	   *key = NULL;
	int64		hold_usecs = -1;
	Datum		seat_arr;
	Datum		result;
	int64		total = 0;
	int			taken;
	bool		waited = false;

	tr_check_not_null(fcinfo, 0, "event_id");
	event = PG_GETARG_UUID_P(0);
	user = tr_caller(fcinfo, 1);
	seats = tr_seat_list_arg(fcinfo, 2);
	if (!PG_ARGISNULL(3))
		key = tr_text_arg(fcinfo, 3, "idempotency_key", TR_MAX_KEY_LEN);
	if (!PG_ARGISNULL(4))
		hold_usecs = tr_hold_usecs(PG_GETARG_INTERVAL_P(4));
	seat_arr = tr_seat_list_array(&seats);
	done->event = event;
	done->user = user;
	done->nseats = seats.n;

	tr_reserve_begin(event);
	if (key != NULL)
	{
		waited = tr_lock_idempotency_key(user, key);
		if (replay_lookup(user, key, event, &seats, now))
		{
			done->replay = true;
			result = tr_result_row(fcinfo, outer, 0);
			SPI_finish();
			return result;
		}
	}
	hold_usecs = tr_check_event(event, seats.n, now, hold_usecs);

	tr_lock_seats_or_busy(event, &seats,
						  "Retry shortly or choose other seats; nothing was reserved.",
						  waited ? TR_RETRY_GRACE_MS : 0);

	tr_new_uuid(&done->res_id, event);
	taken = tr_take_seats(seat_arr, event, &done->res_id, now, &total);
	if (taken < seats.n && (done->lazy_expired = expire_overdue(seat_arr, event, now)) > 0)
		taken += tr_take_seats(seat_arr, event, &done->res_id, now, &total);
	if (taken < seats.n)
		report_short(seat_arr, event, &done->res_id, now);

	tr_count_add(UUIDPGetDatum(event), -(int64) seats.n);
	tr_insert_reservation(&done->res_id, event, user, seat_arr, key, total, now, hold_usecs);
	result = tr_result_row(fcinfo, outer, 0);
	SPI_finish();
	return result;
}

/*
 * The metrics outcome of the error being thrown out of reserve_call; ctx is
 * a context to copy the error into (not ErrorContext, where PG_CATCH runs).
 */
static int
reserve_error_outcome(MemoryContext ctx)
{
	ErrorData  *edata;
	int			outcome = TR_RES_ERROR;

	MemoryContextSwitchTo(ctx);
	edata = CopyErrorData();

	if (edata->sqlerrcode == TR_ERRCODE_CONFLICT)
		outcome = strcmp(edata->message, TR_MSG_SEAT_BUSY) == 0 ? TR_RES_BUSY : TR_RES_CONFLICT;
	FreeErrorData(edata);
	return outcome;
}

/* Count a successful call and log its state change. */
static void
reserve_observe(const TrReserveDone *done, int64 usecs)
{
	TrLogEvent	e = {0};

	tr_metrics_reserve(done->replay ? TR_RES_REPLAY : TR_RES_CREATED, usecs);
	tr_metrics_count(TRC_EXPIRED_LAZY, done->lazy_expired);
	if (done->replay)
		return;
	e.action = "reserve";
	e.outcome = "created";
	e.event = done->event;
	e.reservation = &done->res_id;
	e.user = done->user;
	e.seats = done->nseats;
	e.usecs = usecs;
	tr_log_change(&e);
}

PG_FUNCTION_INFO_V1(tr_reserve);

/*
 * tr_reserve(event_id uuid, user_id text, seat_ids uuid[],
 *            idempotency_key text, hold interval) returns ticketres.reservations
 *
 * Every call, failed or not, is counted by outcome and timed (metrics.c).
 */
Datum
tr_reserve(PG_FUNCTION_ARGS)
{
	TrReserveDone done = {0};
	MemoryContext ctx = CurrentMemoryContext;
	instr_time	start;
	Datum		result = (Datum) 0;

	INSTR_TIME_SET_CURRENT(start);
	PG_TRY();
	{
		result = reserve_call(fcinfo, &done);
	}
	PG_CATCH();
	{
		tr_metrics_reserve(reserve_error_outcome(ctx), tr_usecs_since(start));
		PG_RE_THROW();
	}
	PG_END_TRY();
	reserve_observe(&done, tr_usecs_since(start));
	PG_RETURN_DATUM(result);
}
