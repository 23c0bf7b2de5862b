/*
 * rowrules.c — the rules that tie several columns of one row together (a
 * seat points at a reservation exactly when it is held; a confirmed or
 * cancelled reservation has its timestamp; a reservation holds seats or GA
 * tickets), as the body of one table CHECK constraint per table.
 *
 * PostgreSQL 15 reads every CHECK constraint of a table back from its stored
 * text, plans and compiles it on each statement that writes a row of the
 * table.  Written as SQL expressions these rules cost a reserve about 8 % of
 * its backend CPU (doc/performance.md, section 3: 7.7 % less per reserve
 * once they were C); a CHECK that calls one C
 * function of the row's columns is a few nodes to read back and one call to
 * run, and the catalog still enforces the rule on every row, whoever writes
 * it.  NULL arguments behave as in the SQL expressions they replace: a rule
 * whose inputs are unknown is not broken (a CHECK fails only on false).
 */
#include "ticketres.h"

#include "catalog/pg_enum.h"
#include "utils/array.h"
#include "utils/syscache.h"

/* The OIDs of the labels of an enum type, looked up once per type. */
typedef struct TrEnumLabels
{
	Oid			type;
	Oid			label[2];
} TrEnumLabels;

static Oid
enum_label_oid(Oid type, const char *label)
{
	HeapTuple	tup = SearchSysCache2(ENUMTYPOIDNAME, ObjectIdGetDatum(type),
									  CStringGetDatum(label));
	Oid			oid;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "ticketres: enum type %u has no label \"%s\"", type, label);
	oid = ((Form_pg_enum) GETSTRUCT(tup))->oid;
	ReleaseSysCache(tup);
	return oid;
}

/*
 * The OIDs of labels a and b of the enum type of argument 0.  The cache is
 * keyed by the type's OID: a dropped and re-created extension has new ones.
 */
static const Oid *
enum_labels(FunctionCallInfo fcinfo, TrEnumLabels *cache, const char *a, const char *b)
{
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, 0);

	if (!OidIsValid(type))
		elog(ERROR, "ticketres: could not determine the enum type of the row rule");
	if (cache->type != type)
	{
		cache->label[0] = enum_label_oid(type, a);
		cache->label[1] = enum_label_oid(type, b);
		cache->type = type;
	}
	return cache->label;
}

PG_FUNCTION_INFO_V1(tr_seat_row_ok);

/*
 * ticketres._seat_row_ok(status seat_status, reservation_id uuid) returns
 * boolean: (status IN ('reserved', 'confirmed')) = (reservation_id IS NOT NULL)
 */
Datum
tr_seat_row_ok(PG_FUNCTION_ARGS)
{
	static TrEnumLabels cache;
	const Oid  *held;
	Oid			status;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	held = enum_labels(fcinfo, &cache, "reserved", "confirmed");
	status = PG_GETARG_OID(0);
	PG_RETURN_BOOL((status == held[0] || status == held[1]) == !PG_ARGISNULL(1));
}

PG_FUNCTION_INFO_V1(tr_reservation_row_ok);

/*
 * ticketres._reservation_row_ok(status reservation_status, confirmed_at
 * timestamptz, cancelled_at timestamptz, ga_area_id uuid, seat_ids
 * seat_id_list, quantity ticket_quantity) returns boolean; false exactly
 * when one of 0.1's three CHECK expressions is false:
 *   status <> 'confirmed' OR confirmed_at IS NOT NULL
 *   status <> 'cancelled' OR cancelled_at IS NOT NULL
 *   CASE WHEN ga_area_id IS NULL THEN cardinality(seat_ids) > 0
 *        ELSE cardinality(seat_ids) = 0 AND quantity IS NOT NULL END
 */
Datum
tr_reservation_row_ok(PG_FUNCTION_ARGS)
{
	static TrEnumLabels cache;

	if (!PG_ARGISNULL(0))
	{
		const Oid  *done = enum_labels(fcinfo, &cache, "confirmed", "cancelled");
		Oid			status = PG_GETARG_OID(0);

		if ((status == done[0] && PG_ARGISNULL(1)) || (status == done[1] && PG_ARGISNULL(2)))
			PG_RETURN_BOOL(false);
	}
	if (PG_ARGISNULL(4))
	{
		/* cardinality NULL: the seats branch is NULL, the GA one false without quantity */
		if (!PG_ARGISNULL(3) && PG_ARGISNULL(5))
			PG_RETURN_BOOL(false);
	}
	else
	{
		ArrayType  *seats = PG_GETARG_ARRAYTYPE_P(4);
		int			n = ArrayGetNItems(ARR_NDIM(seats), ARR_DIMS(seats));

		if (PG_ARGISNULL(3) ? n <= 0 : (n != 0 || PG_ARGISNULL(5)))
			PG_RETURN_BOOL(false);
	}
	PG_RETURN_BOOL(true);
}
