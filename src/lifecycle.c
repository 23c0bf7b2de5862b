/*
 * lifecycle.c — what happens to a hold after tr_reserve: tr_confirm,
 * tr_cancel and expiry (tr_expire, and tr_expire_ids which lazy expiry in
 * reserve.c shares).
 *
 * Lock discipline, the same everywhere: a transaction moves a reservation
 * only while it holds the advisory lock of at least one of its seats (expiry
 * and confirm/cancel hold all of them), and seat locks are only ever tried,
 * never waited for. A general admission reservation has no seats: the lock
 * of its own id (same lock space) stands in for them. With Redis on, the seats' Redis keys are taken right
 * after the advisory locks, in the same all-or-nothing way. The guarded UPDATEs (status = 'pending', reservation_id =
 * this reservation) are the source of truth: a seat that no longer belongs to
 * the reservation is never touched.
 */
#include "ticketres.h"

#include "catalog/pg_type.h"
#include "errors.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

int			tr_expire_lock_budget = 256;	/* ticketres.expire_lock_budget */

typedef enum TrMove
{
	TR_CONFIRM,
	TR_CANCEL
} TrMove;

/* What confirm/cancel need to know about a reservation. */
typedef struct TrResInfo
{
	char	   *status;
	TimestampTz expires_at;
	TrSeatList	seats;			/* empty for a GA reservation */
	Datum		event_id;
	bool		ga;				/* general admission: quantity tickets of ga_area */
	Datum		ga_area;
	int			quantity;
} TrResInfo;

/*
 * The seats of a reservation (uuid[]), or none for a GA reservation (an
 * empty array).
 */
static TrSeatList
res_seats(Datum seat_ids)
{
	ArrayType  *arr = DatumGetArrayTypeP(seat_ids);
	TrSeatList	none = {0, NULL};

	if (ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr)) == 0)
		return none;
	return tr_seat_list_datum(PointerGetDatum(arr));
}

/*
 * What a transaction locks to move a reservation: its seats, or, for a GA
 * reservation (no seats), the reservation's own id in the same lock space.
 */
static TrSeatList
res_lock_list(const TrSeatList *seats, const pg_uuid_t *res_id)
{
	TrSeatList	l = *seats;

	if (l.n == 0)
	{
		l.n = 1;
		l.ids = palloc(sizeof(pg_uuid_t));
		memcpy(l.ids, res_id, UUID_LEN);
	}
	return l;
}

/* Read the caller's reservation; someone else's is "not found". */
static TrResInfo
load_reservation(const pg_uuid_t *res_id, const char *user)
{
	Datum		values[1] = {UUIDPGetDatum(res_id)};
	TrResInfo	info;
	bool		isnull;

	bool		ga = tr_has_ga();

	if (tr_exec(ga ? TP_RES_BY_ID_GA : TP_RES_BY_ID, values, NULL, SPI_OK_SELECT) == 0 ||
		strcmp(TextDatumGetCString(tr_getdatum(0, 1, &isnull)), user) != 0)
		ereport(ERROR,
				(errcode(TR_ERRCODE_NOT_FOUND),
				 errmsg(TR_MSG_RES_NOT_FOUND),
				 errdetail("User \"%s\" has no reservation %s.", user, tr_uuid_str(res_id))));
	info.status = TextDatumGetCString(tr_getdatum(0, 2, &isnull));
	info.expires_at = DatumGetTimestampTz(tr_getdatum(0, 3, &isnull));
	info.seats = res_seats(tr_getdatum(0, 4, &isnull));
	info.event_id = tr_getdatum(0, 5, &isnull);
	info.ga = false;
	info.quantity = info.seats.n;
	if (ga)
	{
		info.ga_area = tr_getdatum(0, 6, &info.ga);
		info.ga = !info.ga;
		if (info.ga)
			info.quantity = DatumGetInt32(tr_getdatum(0, 7, &isnull));
	}
	return info;
}

/* Raise the catalogue error when the reservation cannot make this move. */
static void
check_movable(TrMove move, const TrResInfo *info, const pg_uuid_t *res_id, TimestampTz now)
{
	bool		overdue = strcmp(info->status, "pending") == 0 && info->expires_at <= now;
	const char *status = overdue ? "expired" : info->status;

	/* a hold ends exactly at expires_at, whether or not expiry has run yet */
	if (move == TR_CONFIRM && strcmp(status, "expired") == 0)
		ereport(ERROR,
				(errcode(TR_ERRCODE_GONE),
				 errmsg(TR_MSG_HOLD_EXPIRED),
				 errdetail("The hold of reservation %s ended at %s.", tr_uuid_str(res_id),
						   timestamptz_to_str(info->expires_at)),
				 errhint("Reserve the seats again.")));
	if (strcmp(status, "pending") != 0)
		ereport(ERROR,
				(errcode(TR_ERRCODE_CONFLICT),
				 errmsg(TR_MSG_NOT_PENDING),
				 errdetail("Reservation %s is %s.", tr_uuid_str(res_id), status),
				 errhint("Only a pending reservation can be confirmed or cancelled.")));
}

/* Count a done confirm/cancel and log it. */
static void
move_observe(TrMove move, const TrResInfo *info, const pg_uuid_t *res_id, const char *user,
			 TimestampTz start)
{
	TrLogEvent	e = {0};

	tr_metrics_count(move == TR_CONFIRM ? TRC_CONFIRMED : TRC_CANCELLED, 1);
	e.action = move == TR_CONFIRM ? "confirm" : "cancel";
	e.outcome = move == TR_CONFIRM ? "confirmed" : "cancelled";
	e.event = DatumGetUUIDP(info->event_id);
	e.reservation = res_id;
	e.user = user;
	e.seats = info->quantity;
	e.usecs = GetCurrentTimestamp() - start;
	tr_log_change(&e);
}

/* Confirm or cancel: shared checks, locks and guarded updates. */
static Datum
move_reservation(FunctionCallInfo fcinfo, TrMove move)
{
	MemoryContext outer = CurrentMemoryContext;
	TimestampTz now = GetCurrentTimestamp();
	pg_uuid_t  *res_id;
	char	   *user;
	TrResInfo	info;
	Datum		seat_arr;
	Datum		result;
	Datum		values[3];
	int			busy;
	uint64		moved;
	TrSeatList	locks;

	tr_check_not_null(fcinfo, 0, "reservation_id");
	res_id = PG_GETARG_UUID_P(0);
	user = tr_caller(fcinfo, 1);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ticketres: SPI_connect failed");
	info = load_reservation(res_id, user);
	check_movable(move, &info, res_id, now);

	locks = res_lock_list(&info.seats, res_id);
	busy = tr_try_lock_seats(&locks);
	if (busy >= 0)
		ereport(ERROR,
				(errcode(TR_ERRCODE_CONFLICT),
				 errmsg(TR_MSG_SEAT_BUSY),
				 errdetail("Seat %s of reservation %s is locked by a concurrent call.",
						   tr_uuid_str(&locks.ids[busy]), tr_uuid_str(res_id)),
				 errhint("Retry shortly.")));
	busy = tr_redis_lock_seats(DatumGetUUIDP(info.event_id), &locks);
	if (busy >= 0)
		tr_redis_busy_error(&locks.ids[busy]);

	values[0] = UUIDPGetDatum(res_id);
	values[1] = TimestampTzGetDatum(now);
	if (tr_exec(move == TR_CONFIRM ? TP_CONFIRM_RES : TP_CANCEL_RES, values, NULL,
				SPI_OK_UPDATE_RETURNING) != 1)
	{
		/* changed between our read and our locks: report its state now */
		info = load_reservation(res_id, user);
		check_movable(move, &info, res_id, now);
		elog(ERROR, "ticketres: reservation %s could not be moved", tr_uuid_str(res_id));
	}
	result = tr_result_row(fcinfo, outer, 0);

	if (info.ga)
	{
		/* no seats: a cancel gives the tickets back to the area */
		if (move == TR_CANCEL)
			tr_ga_add(info.ga_area, info.quantity);
		move_observe(move, &info, res_id, user, now);
		SPI_finish();
		return result;
	}
	seat_arr = tr_seat_list_array(&info.seats);
	values[1] = seat_arr;
	values[2] = TimestampTzGetDatum(now);
	moved = tr_exec(move == TR_CONFIRM ? TP_CONFIRM_SEATS : TP_RELEASE_SEATS, values, NULL,
					SPI_OK_UPDATE);
	if (moved != (uint64) info.seats.n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("reservation %s holds %d seats but %llu are reserved for it",
						tr_uuid_str(res_id), info.seats.n, (unsigned long long) moved),
				 errhint("Nothing was changed. Run the invariant check in README.md.")));
	if (move == TR_CANCEL)
		tr_count_add(info.event_id, info.seats.n);
	move_observe(move, &info, res_id, user, now);
	SPI_finish();
	return result;
}

PG_FUNCTION_INFO_V1(tr_confirm);

/* tr_confirm(reservation_id uuid, user_id text) returns ticketres.reservations */
Datum
tr_confirm(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(move_reservation(fcinfo, TR_CONFIRM));
}

PG_FUNCTION_INFO_V1(tr_cancel);

/* tr_cancel(reservation_id uuid, user_id text) returns ticketres.reservations */
Datum
tr_cancel(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(move_reservation(fcinfo, TR_CANCEL));
}

/*
 * The event log's line per expired reservation, from columns 4-6 (ids,
 * users, seats released) of a TP_EXPIRE_BY_IDS row.
 */
static void
log_expired(HeapTuple tup, TupleDesc desc, const pg_uuid_t *event, bool lazy)
{
	bool		isnull;
	Datum	   *ids,
			   *users,
			   *seats;
	int			n;

	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 4, &isnull)),
					  UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &ids, NULL, &n);
	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 5, &isnull)),
					  TEXTOID, -1, false, TYPALIGN_INT, &users, NULL, &n);
	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 6, &isnull)),
					  INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &seats, NULL, &n);
	for (int i = 0; i < n; i++)
	{
		TrLogEvent	e = {.action = "expire", .outcome = lazy ? "lazy" : "sweep",
			.event = event, .reservation = DatumGetUUIDP(ids[i]),
		.user = TextDatumGetCString(users[i]), .seats = (int) DatumGetInt64(seats[i])};

		tr_log_change(&e);
	}
}

/*
 * The GA tickets freed by expiry, from columns 7-8 (areas, quantities) of a
 * TP_EXPIRE_BY_IDS_GA row, back to their areas' counters.
 */
static void
give_back_ga(HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	Datum		areas = SPI_getbinval(tup, desc, 7, &isnull);
	Datum	   *a,
			   *q;
	int			n;

	if (isnull)
		return;
	deconstruct_array(DatumGetArrayTypeP(areas), UUIDOID, UUID_LEN, false, TYPALIGN_CHAR,
					  &a, NULL, &n);
	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 8, &isnull)),
					  INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &q, NULL, &n);
	for (int i = 0; i < n; i++)
		tr_ga_add(a[i], DatumGetInt64(q[i]));
}

/*
 * Availability deltas of a sweep, applied once per event: one counter update
 * per event and call, not per group (every update of one stripe row in one
 * transaction leaves a version the next must step over).  The sweep visits
 * events in order, so one pending event is enough.  A stripe's lock is held
 * until commit (counts.c); past the lock budget's worth of events, the
 * deltas go into new overflow stripes, which take none.
 */
typedef struct TrCountDelta
{
	bool		valid;
	pg_uuid_t	event;
	int64		delta;
	int			nlocked;		/* stripe locks this sweep holds */
} TrCountDelta;

static void
count_delta_flush(TrCountDelta *d)
{
	if (d->valid && d->nlocked < tr_expire_lock_budget)
	{
		tr_count_add(UUIDPGetDatum(&d->event), d->delta);
		d->nlocked++;
	}
	else if (d->valid)
		tr_count_add_overflow(UUIDPGetDatum(&d->event), d->delta);
	d->valid = false;
}

static void
count_delta_add(TrCountDelta *d, Datum event, int64 delta)
{
	if (d->valid && memcmp(&d->event, DatumGetUUIDP(event), UUID_LEN) != 0)
		count_delta_flush(d);
	if (!d->valid)
	{
		memcpy(&d->event, DatumGetUUIDP(event), UUID_LEN);
		d->delta = 0;
		d->valid = true;
	}
	d->delta += delta;
}

/*
 * Expire the pending reservations in ids (uuid[]) whose seat locks the caller
 * holds and give their seats back; the counters move now, or through acc
 * when given (tr_expire).  Returns how many reservations were expired; logs
 * one line per reservation (lazy: for tr_reserve).
 */
static int64
expire_ids(Datum ids, TimestampTz now, bool lazy, TrCountDelta *acc)
{
	Datum		values[2] = {ids, TimestampTzGetDatum(now)};
	bool		ga = tr_has_ga();
	uint64		n = tr_exec(ga ? TP_EXPIRE_BY_IDS_GA : TP_EXPIRE_BY_IDS, values, NULL,
							SPI_OK_SELECT);
	SPITupleTable *tt = SPI_tuptable;
	int64		expired = 0;

	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		event = SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull);
		int64		seats = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull));

		expired += DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
		if (acc != NULL)
			count_delta_add(acc, event, seats);
		else
			tr_count_add(event, seats);
		if (tr_log_events)
			log_expired(tt->vals[i], tt->tupdesc, DatumGetUUIDP(event), lazy);
		if (ga)
			give_back_ga(tt->vals[i], tt->tupdesc);
	}
	SPI_freetuptable(tt);
	return expired;
}

/* Lazy expiry's entry (reserve.c): expire_ids with the counters moved now. */
int64
tr_expire_ids(Datum ids, TimestampTz now, bool lazy)
{
	return expire_ids(ids, now, lazy, NULL);
}

/* A palloc'd copy of a uuid (the keyset variables change under the group). */
static pg_uuid_t *
uuid_copy(const pg_uuid_t *u)
{
	pg_uuid_t  *c = palloc(sizeof(pg_uuid_t));

	memcpy(c, u, UUID_LEN);
	return c;
}

/*
 * The Redis step of an expiry group: the keys of all its holds (hold j is
 * lists[j] of events[j]) in one round trip; keeps in ids only the holds whose
 * keys were all taken and returns how many remain.
 */
static int
redis_filter(const pg_uuid_t **events, const TrSeatList *lists, Datum *ids, int nids)
{
	int		   *busy = palloc(sizeof(int) * nids);
	int			kept = 0;

	tr_redis_lock_groups(events, lists, nids, busy);
	for (int j = 0; j < nids; j++)
		if (busy[j] < 0)
			ids[kept++] = ids[j];
	return kept;
}

/*
 * Overdue holds whose seat locks tr_expire holds, waiting to be expired
 * together: at most the lock budget of seat locks (or one hold's seats, when
 * a single hold has more).
 */
typedef struct TrExpireGroup
{
	int			n;				/* holds */
	int			nseats;			/* seat locks held for them */
	Datum	   *ids;
	TrSeatList *lists;
	const pg_uuid_t **events;
	int			redis_mark;
	TrCountDelta *counts;		/* the sweep's pending counter deltas */
} TrExpireGroup;

/*
 * Expire the group's holds (those whose Redis keys were free too), then
 * release their seat locks and Redis keys: the row guard protects the rest
 * of the transaction, and the lock table stays within the budget.
 */
static void
expire_group(TrExpireGroup *g, TimestampTz now, int64 *expired)
{
	int			n = g->n;

	if (n > 0 && tr_redis_enabled())
		n = redis_filter(g->events, g->lists, g->ids, n);
	if (n > 0)
		*expired += expire_ids(PointerGetDatum(construct_array(g->ids, n, UUIDOID, UUID_LEN,
															   false, TYPALIGN_CHAR)),
							   now, false, g->counts);
	for (int j = 0; j < g->n; j++)
		tr_unlock_seats(&g->lists[j], g->lists[j].n);
	tr_redis_release_since(g->redis_mark);
	g->n = 0;
	g->nseats = 0;
	g->redis_mark = tr_redis_mark();
}

/*
 * One batch of tr_expire: up to limit overdue holds after the keyset
 * position (last_event, last_exp, last_id), skipping those whose seats are
 * busy, expired in groups of at most budget seat locks.  Returns the number
 * of candidates fetched; *expired grows by those expired.
 */
static uint64
expire_batch(TimestampTz now, pg_uuid_t *last_event, TimestampTz *last_exp,
			 pg_uuid_t *last_id, int limit, int budget, TrCountDelta *counts,
			 int64 *expired)
{
	Datum		values[5] = {TimestampTzGetDatum(now), UUIDPGetDatum(last_event),
		TimestampTzGetDatum(*last_exp), UUIDPGetDatum(last_id), Int32GetDatum(limit)};
	uint64		n = tr_exec(TP_EXPIRE_CANDIDATES, values, NULL, SPI_OK_SELECT);
	SPITupleTable *tt = SPI_tuptable;
	TrExpireGroup g = {0};

	g.ids = palloc(sizeof(Datum) * (n + 1));
	g.lists = palloc(sizeof(TrSeatList) * (n + 1));
	g.events = palloc(sizeof(pg_uuid_t *) * (n + 1));
	g.redis_mark = tr_redis_mark();
	g.counts = counts;
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		TrSeatList	seats = res_seats(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
		TrSeatList	list;
		int			busy;

		memcpy(last_id, DatumGetUUIDP(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull)),
			   UUID_LEN);
		list = res_lock_list(&seats, last_id);
		*last_exp = DatumGetTimestampTz(SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull));
		memcpy(last_event, DatumGetUUIDP(SPI_getbinval(tt->vals[i], tt->tupdesc, 4, &isnull)),
			   UUID_LEN);
		if (g.nseats > 0 && g.nseats + list.n > budget)
			expire_group(&g, now, expired);
		busy = tr_try_lock_seats(&list);
		if (busy >= 0)
		{
			tr_unlock_seats(&list, busy);
			continue;
		}
		g.ids[g.n] = UUIDPGetDatum(uuid_copy(last_id));
		g.lists[g.n] = list;
		g.events[g.n] = uuid_copy(last_event);
		g.n++;
		g.nseats += list.n;
	}
	expire_group(&g, now, expired);
	SPI_freetuptable(tt);
	return n;
}

PG_FUNCTION_INFO_V1(tr_expire);

/*
 * tr_expire(max_rows int) returns int: expire overdue holds in batches.
 * Each batch's memory is freed before the next; the seat locks held at once
 * stay within ticketres.expire_lock_budget (see README, Lock budget), so a
 * sweep of any size runs on PostgreSQL's default lock settings.  Then the
 * availability counter's overflow stripes are folded back (counts.c).
 */
Datum
tr_expire(PG_FUNCTION_ARGS)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz last_exp = DT_NOBEGIN;
	pg_uuid_t	last_event;
	pg_uuid_t	last_id;
	int32		max_rows;
	int64		expired = 0;
	int			budget = tr_expire_lock_budget;
	TrCountDelta counts = {0};
	MemoryContext batch_cxt;

	tr_check_not_null(fcinfo, 0, "max_rows");
	max_rows = PG_GETARG_INT32(0);
	if (max_rows < 1 || max_rows > TR_EXPIRE_MAX_ROWS)
		tr_bad_argument("max_rows must be between 1 and %d", TR_EXPIRE_MAX_ROWS);
	memset(&last_event, 0, sizeof(last_event));
	memset(&last_id, 0, sizeof(last_id));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ticketres: SPI_connect failed");
	batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "ticketres expire batch",
									  ALLOCSET_DEFAULT_SIZES);
	while (expired < max_rows)
	{
		int			limit = Min(TR_EXPIRE_BATCH, max_rows - (int) expired);
		MemoryContext old = MemoryContextSwitchTo(batch_cxt);
		uint64		fetched = expire_batch(now, &last_event, &last_exp, &last_id, limit,
										   budget, &counts, &expired);

		MemoryContextSwitchTo(old);
		MemoryContextReset(batch_cxt);
		if (fetched < (uint64) limit)
			break;
	}
	count_delta_flush(&counts);
	/* folding takes a stripe lock per event: what is left of the budget */
	if (counts.nlocked < budget)
		(void) tr_count_fold(budget - counts.nlocked);
	SPI_finish();
	tr_metrics_count(TRC_EXPIRED_SWEEP, expired);
	PG_RETURN_INT32((int32) expired);
}
