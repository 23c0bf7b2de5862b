/*
 * errors.c — the error catalogue for the SQL functions.
 *
 * ticketres._raise(message, detail, hint) raises the catalogue's error whose
 * message is given, with the catalogue's SQLSTATE: the PL/pgSQL functions
 * name a reason, never a SQLSTATE, so the pairing lives here and in
 * errors.h only. A message that is not in the catalogue is an internal error.
 */
#include "ticketres.h"

#include "errors.h"
#include "utils/builtins.h"

typedef struct TrCatalogueEntry
{
	const char *message;
	int			sqlstate;
} TrCatalogueEntry;

static const TrCatalogueEntry tr_catalogue[] = {
	{TR_MSG_EVENT_NOT_FOUND, TR_ERRCODE_NOT_FOUND},
	{TR_MSG_SEAT_NOT_FOUND, TR_ERRCODE_NOT_FOUND},
	{TR_MSG_RES_NOT_FOUND, TR_ERRCODE_NOT_FOUND},
	{TR_MSG_SEAT_UNAVAILABLE, TR_ERRCODE_CONFLICT},
	{TR_MSG_SEAT_BUSY, TR_ERRCODE_CONFLICT},
	{TR_MSG_NOT_PENDING, TR_ERRCODE_CONFLICT},
	{TR_MSG_BOOKING_CLOSED, TR_ERRCODE_CONFLICT},
	{TR_MSG_EVENT_HAS_RESERVATIONS, TR_ERRCODE_CONFLICT},
	{TR_MSG_HOLD_EXPIRED, TR_ERRCODE_GONE},
	{TR_MSG_KEY_REUSED, TR_ERRCODE_UNPROCESSABLE},
	{TR_MSG_TOO_MANY_SEATS, TR_ERRCODE_UNPROCESSABLE},
	{TR_MSG_USER_MISMATCH, TR_ERRCODE_FORBIDDEN},
	{TR_MSG_LOCK_UNAVAILABLE, TR_ERRCODE_UNAVAILABLE},
	{TR_MSG_AREA_NOT_FOUND, TR_ERRCODE_NOT_FOUND},
	{TR_MSG_SOLD_OUT, TR_ERRCODE_CONFLICT},
	{TR_MSG_NOT_ENOUGH_SEATS, TR_ERRCODE_CONFLICT},
	{TR_MSG_CAPACITY_BELOW_SOLD, TR_ERRCODE_CONFLICT},
};

PG_FUNCTION_INFO_V1(tr_raise_sql);

/* ticketres._raise(message text, detail text, hint text) returns void */
Datum
tr_raise_sql(PG_FUNCTION_ARGS)
{
	const char *message;
	const char *detail = PG_ARGISNULL(1) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(1));
	const char *hint = PG_ARGISNULL(2) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(2));

	tr_check_not_null(fcinfo, 0, "message");
	message = TextDatumGetCString(PG_GETARG_DATUM(0));
	for (size_t i = 0; i < lengthof(tr_catalogue); i++)
		if (strcmp(tr_catalogue[i].message, message) == 0)
			ereport(ERROR,
					(errcode(tr_catalogue[i].sqlstate),
					 errmsg("%s", message),
					 detail ? errdetail("%s", detail) : 0,
					 hint ? errhint("%s", hint) : 0));
	elog(ERROR, "ticketres: \"%s\" is not in the error catalogue", message);
	PG_RETURN_VOID();
}
