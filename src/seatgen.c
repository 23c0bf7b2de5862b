/*
 * seatgen.c — tr_generate_seats' bulk path: rows * seats_per_row seats
 * formed directly as values (no SQL text to parse, no plan, no projection
 * per row) and written one at a time through a bulk-insert state, each
 * followed at once by its index entries.  (Batches written with
 * table_multi_insert, as COPY FROM does, with each batch's index entries
 * after it, were measured slower: doc/performance.md.)
 *
 * The executor's own routines do everything that makes a row valid, so this
 * is no weaker than an INSERT: each value goes through its column's domain
 * (domain_check), the stored generated column is computed
 * (ExecComputeStoredGenerated), NOT NULL and CHECK constraints are checked
 * (ExecConstraints), and every index entry is made by ExecInsertIndexTuples
 * (partial-index predicates, uniqueness: a label that exists raises 23505,
 * which tr_generate_seats turns into 22023).  What it does not do is fire
 * triggers, apply row-level security or route into partitions: on a seats
 * table that has any of those (a DBA may add them), or columns it does not
 * know, it returns -1 and tr_generate_seats runs its INSERT instead.
 * doc/performance.md measures it.
 */
#include "ticketres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

/* the columns the bulk path fills, by name (their positions differ between a
 * fresh 0.2 database and one updated from 0.1) */
typedef enum GenCol
{
	GC_ID, GC_EVENT, GC_LABEL, GC_SECTION, GC_ROW, GC_NUMBER, GC_PRICE,
	GC_STATUS, GC_RESERVATION, GC_UPDATED, GC_RANK, GC_BEST, GC_COUNT
} GenCol;

static const struct
{
	const char *name;
	Oid			base;			/* base type (of the domain, if any) */
}			gen_cols[GC_COUNT] =
{
	[GC_ID] = {"id", UUIDOID},
	[GC_EVENT] = {"event_id", UUIDOID},
	[GC_LABEL] = {"label", TEXTOID},
	[GC_SECTION] = {"section", TEXTOID},
	[GC_ROW] = {"row_label", TEXTOID},
	[GC_NUMBER] = {"seat_number", INT4OID},
	[GC_PRICE] = {"price", INT8OID},
	[GC_STATUS] = {"status", InvalidOid},	/* the seat_status enum */
	[GC_RESERVATION] = {"reservation_id", UUIDOID},
	[GC_UPDATED] = {"updated_at", TIMESTAMPTZOID},
	[GC_RANK] = {"rank", INT4OID},
	[GC_BEST] = {"best_available", BOOLOID},
};

typedef struct GenTarget
{
	int			att[GC_COUNT];	/* 0-based attribute number of each column */
	Oid			type[GC_COUNT];	/* its declared type (a domain or the base) */
	bool		domain[GC_COUNT];	/* is that type a domain? */
	void	   *domain_extra[GC_COUNT];	/* domain_check's cache */
	MemoryContext cache_cxt;	/* where that cache lives: the whole call */
} GenTarget;

/*
 * Can the bulk path write this table exactly as an INSERT would?  Fills
 * *t and returns true, or returns false (the caller falls back to SQL).
 */
static bool
gen_target(Relation rel, ResultRelInfo *rri, GenTarget *t)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i,
				c;

	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relrowsecurity ||
		rel->trigdesc != NULL)
		return false;
	for (c = 0; c < GC_COUNT; c++)
		t->att[c] = -1;
	t->cache_cxt = CurrentMemoryContext;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (a->attisdropped)
			continue;
		if (a->attgenerated == ATTRIBUTE_GENERATED_STORED)
			continue;			/* computed by ExecComputeStoredGenerated */
		for (c = 0; c < GC_COUNT; c++)
			if (strcmp(NameStr(a->attname), gen_cols[c].name) == 0)
				break;
		if (c == GC_COUNT || t->att[c] >= 0)
			return false;		/* a column this path does not know */
		if (gen_cols[c].base != InvalidOid ? getBaseType(a->atttypid) != gen_cols[c].base
			: !type_is_enum(a->atttypid))
			return false;
		t->att[c] = i;
		t->type[c] = a->atttypid;
		t->domain[c] = getBaseType(a->atttypid) != a->atttypid;
		t->domain_extra[c] = NULL;
	}
	for (c = 0; c < GC_COUNT; c++)
		if (t->att[c] < 0)
			return false;
	/* a deferred unique constraint would need the after-trigger queue */
	for (i = 0; i < rri->ri_NumIndices; i++)
		if (!rri->ri_IndexRelationDescs[i]->rd_index->indimmediate)
			return false;
	return true;
}

/* one value into its column of the slot */
static inline void
gen_set(GenTarget *t, TupleTableSlot *slot, GenCol c, Datum v, bool isnull)
{
	slot->tts_values[t->att[c]] = v;
	slot->tts_isnull[t->att[c]] = isnull;
}

/* the value's domain constraints (none for a column of a base type) */
static inline void
gen_check(GenTarget *t, GenCol c, Datum v, bool isnull)
{
	if (t->domain[c])
		domain_check(v, isnull, t->type[c], &t->domain_extra[c], t->cache_cxt);
}

PG_FUNCTION_INFO_V1(tr_generate_seats_bulk);

/*
 * ticketres._generate_seats_bulk(event_id uuid, section text, rows int,
 * seats_per_row int, price bigint, best boolean) returns bigint: the seats
 * added, or -1 when the seats table needs the SQL path.  Internal: the
 * caller (tr_generate_seats) has checked the arguments and locked the event
 * row; the bounds are checked again here because C must not trust them.
 */
Datum
tr_generate_seats_bulk(PG_FUNCTION_ARGS)
{
	static const char *const arg_names[] = {"event_id", "section", "rows", "seats_per_row",
	"price", "best"};
	Datum		event_id;
	text	   *section;
	int32		rows,
				per_row;
	int64		price;
	bool		best;
	Oid			relid;
	Relation	rel;
	EState	   *estate;
	RangeTblEntry *rte;
	ResultRelInfo *rri;
	GenTarget	t;
	TupleTableSlot *slot;
	BulkInsertState bistate;
	CommandId	cid;
	Datum		status_available;
	Oid			in_func,
				in_param;
	pg_uuid_t	prefix;
	char	   *sect;
	Datum		updated_at;
	int			c;
	int64		added = 0;
	int32		r,
				s;
	MemoryContext rowcxt,
				old;

	for (c = 0; c < (int) lengthof(arg_names); c++)
		tr_check_not_null(fcinfo, c, arg_names[c]);
	event_id = PG_GETARG_DATUM(0);
	section = PG_GETARG_TEXT_PP(1);
	rows = PG_GETARG_INT32(2);
	per_row = PG_GETARG_INT32(3);
	price = PG_GETARG_INT64(4);
	best = PG_GETARG_BOOL(5);
	if (rows < 1 || rows > 100000 || per_row < 1 || per_row > 100000 ||
		(int64) rows * per_row > 5000000 || VARSIZE_ANY_EXHDR(section) < 1 ||
		VARSIZE_ANY_EXHDR(section) > 200)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("ticketres: _generate_seats_bulk: argument out of range")));
	sect = text_to_cstring(section);

	relid = get_relname_relid("seats", get_namespace_oid("ticketres", false));
	if (!OidIsValid(relid))
		elog(ERROR, "ticketres: table ticketres.seats not found");
	rel = table_open(relid, RowExclusiveLock);

	estate = CreateExecutorState();
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(estate, list_make1(rte));
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	estate->es_opened_result_relations = list_make1(rri);
	ExecOpenIndices(rri, false);

	if (!gen_target(rel, rri, &t))
	{
		ExecCloseIndices(rri);
		FreeExecutorState(estate);
		table_close(rel, NoLock);
		PG_RETURN_INT64(-1);
	}
	cid = GetCurrentCommandId(true);
	estate->es_output_cid = cid;
	getTypeInputInfo(t.type[GC_STATUS], &in_func, &in_param);
	status_available = OidInputFunctionCall(in_func, "available", in_param, -1);
	updated_at = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());	/* now() */

	/*
	 * Seat ids are UUIDv7-shaped: one head per call (tr_uuid7_head: the
	 * millisecond clock, version 7, 42 random bits with the variant), then
	 * the seat's number in the call as a 32-bit counter.  The call's seats are consecutive in the primary key,
	 * so they go into the index in order rather than at random places; their
	 * advisory lock keys (seat_lock_keys) stay distinct within the call.
	 */
	tr_uuid7_head(&prefix);

	/* the constant columns' domains, once */
	gen_check(&t, GC_EVENT, event_id, false);
	gen_check(&t, GC_SECTION, PointerGetDatum(section), false);
	gen_check(&t, GC_PRICE, Int64GetDatum(price), false);
	gen_check(&t, GC_STATUS, status_available, false);
	gen_check(&t, GC_RESERVATION, (Datum) 0, true);
	gen_check(&t, GC_UPDATED, updated_at, false);
	gen_check(&t, GC_BEST, BoolGetDatum(best), false);

	slot = table_slot_create(rel, NULL);
	bistate = GetBulkInsertState();
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "ticketres seat generation",
								   ALLOCSET_DEFAULT_SIZES);

	for (r = 1; r <= rows; r++)
	{
		char		rowbuf[16];
		Datum		row_label;

		old = MemoryContextSwitchTo(rowcxt);
		snprintf(rowbuf, sizeof(rowbuf), "%d", r);
		row_label = PointerGetDatum(cstring_to_text(rowbuf));
		gen_check(&t, GC_ROW, row_label, false);
		MemoryContextSwitchTo(old);

		for (s = 1; s <= per_row; s++)
		{
			pg_uuid_t  *id;
			List	   *recheck;
			char		labelbuf[256];
			Datum		label;
			int64		n = (int64) (r - 1) * per_row + s;
			int32		rank;

			CHECK_FOR_INTERRUPTS();
			old = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
			ExecClearTuple(slot);
			id = palloc(sizeof(pg_uuid_t));
			memcpy(id->data, prefix.data, UUID_LEN - 4);
			id->data[12] = (uint8) (n >> 24);
			id->data[13] = (uint8) (n >> 16);
			id->data[14] = (uint8) (n >> 8);
			id->data[15] = (uint8) n;
			snprintf(labelbuf, sizeof(labelbuf), "%s-%d-%d", sect, r, s);
			label = PointerGetDatum(cstring_to_text(labelbuf));
			gen_check(&t, GC_LABEL, label, false);
			/* front rows first, then each row from its centre outwards */
			rank = (int32) ((int64) (r - 1) * per_row + abs(2 * s - (per_row + 1))
							- (2 * s < per_row + 1 ? 1 : 0));
			gen_check(&t, GC_NUMBER, Int32GetDatum(s), false);
			gen_check(&t, GC_RANK, Int32GetDatum(rank), false);
			gen_check(&t, GC_ID, UUIDPGetDatum(id), false);

			memset(slot->tts_isnull, true, slot->tts_tupleDescriptor->natts * sizeof(bool));
			gen_set(&t, slot, GC_ID, UUIDPGetDatum(id), false);
			gen_set(&t, slot, GC_EVENT, event_id, false);
			gen_set(&t, slot, GC_LABEL, label, false);
			gen_set(&t, slot, GC_SECTION, PointerGetDatum(section), false);
			gen_set(&t, slot, GC_ROW, row_label, false);
			gen_set(&t, slot, GC_NUMBER, Int32GetDatum(s), false);
			gen_set(&t, slot, GC_PRICE, Int64GetDatum(price), false);
			gen_set(&t, slot, GC_STATUS, status_available, false);
			gen_set(&t, slot, GC_RESERVATION, (Datum) 0, true);
			gen_set(&t, slot, GC_UPDATED, updated_at, false);
			gen_set(&t, slot, GC_RANK, Int32GetDatum(rank), false);
			gen_set(&t, slot, GC_BEST, BoolGetDatum(best), false);
			ExecStoreVirtualTuple(slot);
			if (rel->rd_att->constr && rel->rd_att->constr->has_generated_stored)
				ExecComputeStoredGenerated(rri, estate, slot, CMD_INSERT);
			if (rel->rd_att->constr)
				ExecConstraints(rri, slot, estate);
			table_tuple_insert(rel, slot, cid, 0, bistate);
			recheck = ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL);
			/* only deferred constraints ask for a recheck, and gen_target refused those */
			if (recheck != NIL)
				elog(ERROR, "ticketres: seat generation: unexpected deferred index check");
			MemoryContextSwitchTo(old);
			ResetPerTupleExprContext(estate);
			added++;
		}
		MemoryContextReset(rowcxt);
	}
	FreeBulkInsertState(bistate);
	table_finish_bulk_insert(rel, 0);
	ExecDropSingleTupleTableSlot(slot);
	MemoryContextDelete(rowcxt);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	table_close(rel, NoLock);	/* the lock is kept to the end of the transaction */
	pfree(sect);
	PG_RETURN_INT64(added);
}
