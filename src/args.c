/*
 * args.c — argument checking shared by every entry point.
 *
 * Nothing a caller passes is trusted: NULLs, NULL array elements,
 * multi-dimensional or oversized arrays, duplicate seats, absurd holds and
 * over-long strings are all answered with 22023 and a message naming the
 * argument, before anything is read or written.
 */
#include "ticketres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "errors.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

/* 22023 when argument argno is NULL. */
void
tr_check_not_null(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		tr_bad_argument("%s must not be null", name);
}

static int
uuid_cmp_qsort(const void *a, const void *b)
{
	return memcmp(a, b, UUID_LEN);
}

/*
 * A uuid[] as a sorted list of distinct seat ids; rejects NULL, empty,
 * multi-dimensional, NULL elements, duplicates and more than
 * TR_MAX_SEATS_PER_CALL elements.
 */
TrSeatList
tr_seat_list_datum(Datum arrd)
{
	ArrayType  *arr = DatumGetArrayTypeP(arrd);
	TrSeatList	list;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_ELEMTYPE(arr) != UUIDOID)
		tr_bad_argument("seat_ids must be an array of uuid");
	if (ARR_NDIM(arr) > 1)
		tr_bad_argument("seat_ids must be a one-dimensional array");
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (n == 0)
		tr_bad_argument("seat_ids must not be empty");
	if (n > TR_MAX_SEATS_PER_CALL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("seat_ids must not have more than %d elements", TR_MAX_SEATS_PER_CALL),
				 errdetail("%d seat ids were given.", n)));
	deconstruct_array(arr, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &elems, &nulls, &n);
	list.n = n;
	list.ids = palloc(sizeof(pg_uuid_t) * n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			tr_bad_argument("seat_ids must not contain nulls");
		memcpy(&list.ids[i], DatumGetUUIDP(elems[i]), UUID_LEN);
	}
	qsort(list.ids, n, sizeof(pg_uuid_t), uuid_cmp_qsort);
	for (int i = 1; i < n; i++)
		if (memcmp(&list.ids[i - 1], &list.ids[i], UUID_LEN) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("seat_ids must not contain duplicates"),
					 errdetail("Seat %s is listed more than once.", tr_uuid_str(&list.ids[i]))));
	return list;
}

/* The seat list of argument argno (named seat_ids in every function). */
TrSeatList
tr_seat_list_arg(FunctionCallInfo fcinfo, int argno)
{
	tr_check_not_null(fcinfo, argno, "seat_ids");
	return tr_seat_list_datum(PG_GETARG_DATUM(argno));
}

/* The sorted list as a uuid[] datum, for SPI parameters and storage. */
Datum
tr_seat_list_array(const TrSeatList *seats)
{
	Datum	   *elems = palloc(sizeof(Datum) * seats->n);

	for (int i = 0; i < seats->n; i++)
		elems[i] = UUIDPGetDatum(&seats->ids[i]);
	return PointerGetDatum(construct_array(elems, seats->n, UUIDOID, UUID_LEN,
										   false, TYPALIGN_CHAR));
}

/* A hold as microseconds, between one second and one day. */
int64
tr_hold_usecs(const Interval *hold)
{
	int64		usecs;

	if (hold->month != 0 || hold->day < 0 || hold->day > 1 ||
		pg_mul_s64_overflow((int64) hold->day, USECS_PER_DAY, &usecs) ||
		pg_add_s64_overflow(usecs, hold->time, &usecs) ||
		usecs < TR_MIN_HOLD_USECS || usecs > TR_MAX_HOLD_USECS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hold must be between 1 second and 1 day"),
				 errhint("Pass NULL to use the event's hold_duration.")));
	return usecs;
}

/* A non-empty text argument of at most maxlen bytes, as a C string. */
char *
tr_text_arg(FunctionCallInfo fcinfo, int argno, const char *name, int maxlen)
{
	text	   *t;
	int			len;

	tr_check_not_null(fcinfo, argno, name);
	t = PG_GETARG_TEXT_PP(argno);
	len = VARSIZE_ANY_EXHDR(t);
	if (len == 0)
		tr_bad_argument("%s must not be empty", name);
	if (len > maxlen)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is too long", name),
				 errdetail("It has %d bytes; the limit is %d.", len, maxlen)));
	return text_to_cstring(t);
}

char *
tr_uuid_str(const pg_uuid_t *u)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(u)));
}

/* "a, b, c" for error details; long lists are cut after ten ids. */
char *
tr_uuid_list_str(const pg_uuid_t *ids, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < n && i < 10; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", tr_uuid_str(&ids[i]));
	if (n > 10)
		appendStringInfo(&buf, " and %d more", n - 10);
	return buf.data;
}
