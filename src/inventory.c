/*
 * inventory.c — the C pieces that general admission and best available
 * (src/sql/35_general_admission.sql, 36_best_available.sql) build on: the
 * same never-waiting locks, reservation ids, expiry and counters as the seat
 * path, exposed to the SQL functions as ticketres._* helpers.
 */
#include "ticketres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"

static void
spi_connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ticketres: SPI_connect failed");
}

PG_FUNCTION_INFO_V1(tr_ga_add_sql);

/* ticketres._ga_add(area_id uuid, delta bigint): tickets back to an area. */
Datum
tr_ga_add_sql(PG_FUNCTION_ARGS)
{
	tr_check_not_null(fcinfo, 0, "area_id");
	tr_check_not_null(fcinfo, 1, "delta");
	spi_connect();
	tr_ga_add(PG_GETARG_DATUM(0), PG_GETARG_INT64(1));
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(tr_try_lock_ids_sql);

/*
 * ticketres._try_lock_ids(ids uuid[]) returns boolean: the seat locks of all
 * ids (seats, or GA reservation ids), in sorted order, without waiting; all
 * or none: when one is busy, those taken are released and the answer is
 * false.
 */
Datum
tr_try_lock_ids_sql(PG_FUNCTION_ARGS)
{
	TrSeatList	ids;
	int			busy;

	tr_check_not_null(fcinfo, 0, "ids");
	ids = tr_seat_list_datum(PG_GETARG_DATUM(0));
	busy = tr_try_lock_seats(&ids);
	if (busy >= 0)
	{
		tr_unlock_seats(&ids, busy);
		PG_RETURN_BOOL(false);
	}
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(tr_new_reservation_id_sql);

/* ticketres._new_reservation_id(event_id uuid) returns uuid (ends with the event's bytes) */
Datum
tr_new_reservation_id_sql(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

	tr_check_not_null(fcinfo, 0, "event_id");
	tr_new_uuid(u, PG_GETARG_UUID_P(0));
	PG_RETURN_UUID_P(u);
}

PG_FUNCTION_INFO_V1(tr_expire_ids_sql);

/*
 * ticketres._expire_ids(ids uuid[], lazy boolean) returns bigint: expire
 * those of the overdue pending reservations whose locks the caller holds,
 * freeing their seats or GA tickets; returns how many were expired.
 */
Datum
tr_expire_ids_sql(PG_FUNCTION_ARGS)
{
	int64		n;

	tr_check_not_null(fcinfo, 0, "ids");
	spi_connect();
	n = tr_expire_ids(PG_GETARG_DATUM(0), GetCurrentTimestamp(),
					  PG_ARGISNULL(1) ? true : PG_GETARG_BOOL(1));
	SPI_finish();
	if (PG_ARGISNULL(1) || PG_GETARG_BOOL(1))
		tr_metrics_count(TRC_EXPIRED_LAZY, n);
	PG_RETURN_INT64(n);
}
