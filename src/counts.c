/*
 * counts.c — exact availability in O(1).
 *
 * ticketres.seat_counts keeps, per event, TR_COUNT_STRIPES rows whose sum is
 * the number of seats with status 'available'. Each backend adds its deltas
 * to the stripe of its backend id, so concurrent reservations of one event do
 * not queue behind one counter row. The rows are ordinary WAL-logged rows
 * changed in the same transaction as the seats: exact across rollbacks and
 * crash recovery. tr_available_count adds the seats of pending holds that are
 * already overdue (they are free: see lazy expiry in reserve.c).
 */
#include "ticketres.h"

#include "catalog/pg_type.h"
#include "errors.h"
#include "miscadmin.h"
#include "storage/backendid.h"

#define TR_COUNT_STRIPES 64		/* must match the install script */

int
tr_count_stripe(void)
{
	return (MyBackendId > 0 ? MyBackendId : MyProcPid) % TR_COUNT_STRIPES;
}

/* Add delta to this backend's stripe of the event's available count. */
void
tr_count_add(Datum event_id, int64 delta)
{
	Datum		values[3];

	if (delta == 0)
		return;
	values[0] = event_id;
	values[1] = Int32GetDatum(tr_count_stripe());
	values[2] = Int64GetDatum(delta);
	if (tr_exec(TP_COUNT_ADD, values, NULL, SPI_OK_UPDATE) != 1)
		elog(ERROR, "ticketres: availability counter of event is missing");
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
