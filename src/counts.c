/*
 * counts.c — exact availability in O(1).
 *
 * ticketres.seat_counts keeps, per event, stripes whose sum is the number of
 * seats with status 'available': 64 made with the event, plus overflow ones.
 * A change adds its delta to one stripe in the same transaction as the seats,
 * so the count is exact across rollbacks, crash recovery and two-phase
 * commit.  Which stripe: this backend's own (backend id mod 64) when no other
 * transaction holds its stripe lock (an advisory lock, locks.c), else the
 * next stripe nobody holds, else a new overflow stripe.  Every writer of a
 * regular stripe holds its stripe lock until its transaction ends, so the
 * plain UPDATE that follows finds no row lock to wait for, and takes none
 * before it writes (the first never-waiting version locked the row FOR
 * UPDATE SKIP LOCKED first: a locking statement and one more WAL record per
 * call, about 14 % of a reserve at 8 clients).  So a count never waits for
 * another transaction, not even a prepared one or the 65th open one;
 * tr_expire folds the overflow stripes back (tr_count_fold).
 * tr_available_count adds the seats of the event's pending holds that are
 * already overdue (they are free: see lazy expiry in reserve.c), read from
 * the per-event pending index.
 */
#include "ticketres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "utils/lsyscache.h"
#include "errors.h"
#include "miscadmin.h"
#include "storage/backendid.h"

#define TR_COUNT_STRIPES 64		/* stripes per event; overflow stripes are >= this */
#define TR_COUNT_FOLD_BATCH 1000

int
tr_count_stripe(void)
{
	return (MyBackendId > 0 ? MyBackendId : MyProcPid) % TR_COUNT_STRIPES;
}

static bool
has_overflow_seq(void)
{
	return OidIsValid(get_relname_relid("seat_counts_overflow_seq",
										get_namespace_oid("ticketres", false)));
}

/*
 * Put delta into a new overflow stripe (every regular one is held by other
 * transactions).  Returns false when there is no counter of that key.
 */
static bool
stripe_new(TrPlanId fresh, Datum key, int64 delta, bool (*can_overflow) (void))
{
	Datum		values[2] = {key, Int64GetDatum(delta)};

	if (can_overflow != NULL && !can_overflow())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ticketres library %s needs the extension's SQL objects of %s",
						TR_LIBRARY_VERSION, TR_LIBRARY_VERSION),
				 errdetail("Every stripe of the availability counter is locked, and this database "
						   "still has the 0.1 objects, which have no overflow stripes."),
				 errhint("Run ALTER EXTENSION ticketres UPDATE.")));
	return tr_exec(fresh, values, NULL, SPI_OK_INSERT) == 1;
}

/*
 * Add delta to a stripe of a GA area's counter, never waiting, claiming it by
 * row lock: this backend's stripe, else the first one nobody holds, else a
 * new overflow stripe.
 * Returns false when even the overflow insert found no counter of that key.
 */
static bool
stripe_add(TrPlanId own, TrPlanId any, TrPlanId fresh, Datum key, int64 delta)
{
	Datum		values[3];

	values[0] = key;
	values[1] = Int32GetDatum(tr_count_stripe());
	values[2] = Int64GetDatum(delta);
	if (tr_exec(own, values, NULL, SPI_OK_UPDATE) == 1)
		return true;
	values[1] = values[2];
	if (tr_exec(any, values, NULL, SPI_OK_UPDATE) == 1)
		return true;
	return stripe_new(fresh, key, delta, NULL);
}

/*
 * Claim a stripe of the event's seat counter for this transaction: this
 * backend's stripe, else the next one whose stripe lock nobody holds.
 * Returns the stripe, or -1 when every regular stripe is held.
 */
static int
count_claim_stripe(const pg_uuid_t *event)
{
	int			own = tr_count_stripe();

	for (int i = 0; i < TR_COUNT_STRIPES; i++)
	{
		int			stripe = (own + i) % TR_COUNT_STRIPES;

		if (tr_try_lock_stripe(event, stripe))
			return stripe;
	}
	return -1;
}

/* Add delta to the event's seat counter: a claimed stripe, else an overflow one. */
static bool
seat_stripe_add(Datum event_id, int64 delta)
{
	int			stripe = count_claim_stripe(DatumGetUUIDP(event_id));
	Datum		values[3] = {event_id, Int32GetDatum(stripe), Int64GetDatum(delta)};

	if (stripe >= 0 && tr_exec(TP_COUNT_ADD, values, NULL, SPI_OK_UPDATE) == 1)
		return true;
	return stripe_new(TP_COUNT_ADD_NEW, event_id, delta, has_overflow_seq);
}

/* Add delta to a stripe of the event's available count, never waiting. */
void
tr_count_add(Datum event_id, int64 delta)
{
	if (delta != 0 && !seat_stripe_add(event_id, delta))
		elog(ERROR, "ticketres: availability counter of event is missing");
}

/*
 * Add delta to a new overflow stripe of the event's count: no stripe lock
 * (for tr_expire, which flushes one delta per event it swept and would
 * otherwise hold one stripe lock per event until it commits).
 */
void
tr_count_add_overflow(Datum event_id, int64 delta)
{
	if (delta != 0 && !stripe_new(TP_COUNT_ADD_NEW, event_id, delta, has_overflow_seq))
		elog(ERROR, "ticketres: availability counter of event is missing");
}

/* Give delta tickets back to a GA area's counter (ga_counts), never waiting. */
void
tr_ga_add(Datum area_id, int64 delta)
{
	if (delta != 0 && !stripe_add(TP_GA_ADD, TP_GA_ADD_FREE, TP_GA_ADD_NEW, area_id, delta))
		elog(ERROR, "ticketres: ticket counter of GA area is missing");
}

/* Whether the database has the 0.2 reservation columns (ga_area_id, quantity). */
bool
tr_has_ga(void)
{
	Oid			rel = get_relname_relid("reservations", get_namespace_oid("ticketres", false));

	return OidIsValid(rel) && get_attnum(rel, "quantity") != InvalidAttrNumber;
}

/*
 * Fold up to max_rows (at most TR_COUNT_FOLD_BATCH) overflow stripes nobody
 * holds back into the events' regular stripes, which takes one stripe lock
 * per event; returns how many events had some.  Exact: the
 * delete and the add are one transaction.  One batch per call: an add that
 * had to make a new overflow stripe is left for the next call.
 */
int64
tr_count_fold(int max_rows)
{
	Datum		limit = Int32GetDatum(Min(max_rows, TR_COUNT_FOLD_BATCH));
	uint64		n = tr_exec(TP_COUNT_FOLD, &limit, NULL, SPI_OK_SELECT);
	SPITupleTable *tt = SPI_tuptable;

	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		tr_count_add(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull),
					 DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull)));
	}
	SPI_freetuptable(tt);
	return (int64) n;
}

PG_FUNCTION_INFO_V1(tr_available_count);

/* tr_available_count(event_id uuid) returns bigint */
Datum
tr_available_count(PG_FUNCTION_ARGS)
{
	Datum		values[2];
	bool		isnull;
	int64		avail;
	int64		overdue;

	tr_check_not_null(fcinfo, 0, "event_id");
	values[0] = PG_GETARG_DATUM(0);
	values[1] = TimestampTzGetDatum(GetCurrentTimestamp());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ticketres: SPI_connect failed");
	tr_exec(TP_AVAILABLE, values, NULL, SPI_OK_SELECT);
	avail = DatumGetInt64(tr_getdatum(0, 1, &isnull));
	if (isnull)
		ereport(ERROR,
				(errcode(TR_ERRCODE_NOT_FOUND),
				 errmsg(TR_MSG_EVENT_NOT_FOUND),
				 errdetail("No event has id %s.", tr_uuid_str(PG_GETARG_UUID_P(0)))));
	overdue = DatumGetInt64(tr_getdatum(0, 2, &isnull));
	SPI_finish();
	PG_RETURN_INT64(avail + overdue);
}

PG_FUNCTION_INFO_V1(tr_count_add_sql);

/* ticketres._count_add(event_id uuid, delta bigint): for the SQL seat functions. */
Datum
tr_count_add_sql(PG_FUNCTION_ARGS)
{
	tr_check_not_null(fcinfo, 0, "event_id");
	tr_check_not_null(fcinfo, 1, "delta");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ticketres: SPI_connect failed");
	tr_count_add(PG_GETARG_DATUM(0), PG_GETARG_INT64(1));
	SPI_finish();
	PG_RETURN_VOID();
}
