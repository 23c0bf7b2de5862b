/*
 * best.c — best available (DESIGN §9): tr_reserve_best, the steps of
 * tr_reserve around a search that finds the best quantity seats free now
 * and leaves each locked with the seat locks of tr_reserve (locks.c).
 *
 * The available seats are read in rank order from the partial index of
 * available seats (seats_best_idx over best_free, a cursor fetched in small
 * batches; an event not sold by best available has none there), so
 * the search starts at the best free seat however full the event is, and a
 * call reads the seats near the front of that order only.
 *
 * Together: a block is quantity seats of one row (same section and
 * row_label) with consecutive seat numbers; the best has the lowest total
 * rank, ties to the lower (section, row_label, first seat number).  Each
 * row met in the rank stream is read once (seats_row_idx) and kept in
 * memory; its best untried block is its candidate.  A candidate is tried as
 * soon as no row not yet met can beat it: every seat of such a row ranks at
 * least as the stream's current seat, so its blocks total at least quantity
 * times that rank.
 *
 * Trying a block: its seat locks without waiting, then one statement (its
 * own snapshot, taken after the locks) for which of its seats are still
 * available.  A seat whose lock another call holds, or that is no longer
 * available, is dropped from its row for the rest of the call, and the
 * row's next candidate is computed in memory: a concurrent caller is
 * skipped, never waited for, and costs no further statement.
 */
#include "ticketres.h"

#include "catalog/pg_type.h"
#include "errors.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#define TR_BEST_FETCH		32	/* rank-stream seats per cursor fetch */
#define TR_RANK_NONE		((int64) PG_INT32_MAX)	/* a seat without rank ranks last */

typedef struct BestSeat
{
	int32		number;
	int64		rank;
	pg_uuid_t	id;
	bool		gone;			/* busy or taken since read: never tried again */
} BestSeat;

typedef struct BestRow
{
	char	   *section;
	char	   *row_label;
	bool		read;			/* its seats are read (else only seen in the stream) */
	int			nseen;			/* unread: seats seen in the stream (up to quantity) */
	int64		seen_sum;		/* unread: the sum of their ranks */
	int			nseats;
	BestSeat   *seats;			/* available when read, by seat number */
	bool	   *tried;			/* per first seat: this block failed */
	int			cand;			/* first seat index of the candidate, -1: none */
	int64		total;			/* the candidate's total rank */
} BestRow;

typedef struct BestSearch
{
	Datum		event;
	Datum		section;
	Datum		max_price;
	bool		no_section;		/* no section argument */
	bool		no_max_price;	/* no max_price argument */
	int			quantity;
	int			nrows;
	int			maxrows;
	BestRow    *rows;
	int64		statements;		/* SQL statements run (for the DEBUG line) */
	int			rows_read;
} BestSearch;

static int
seat_id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, UUID_LEN);
}

/* The candidate of a row: its untried block of the lowest total, or none. */
static void
row_candidate(BestRow *row, int quantity)
{
	row->cand = -1;
	row->total = 0;
	for (int i = 0; i + quantity <= row->nseats; i++)
	{
		int64		total = 0;
		bool		fits = !row->tried[i];

		for (int k = 0; fits && k < quantity; k++)
		{
			const BestSeat *s = &row->seats[i + k];

			if (s->gone || s->number != row->seats[i].number + k)
				fits = false;
			else
				total += s->rank;
		}
		if (fits && (row->cand < 0 || total < row->total))
		{
			row->cand = i;
			row->total = total;
		}
	}
}

/* A row first met in the stream: known by name only until it is read. */
static BestRow *
row_add(BestSearch *bs, const char *section, const char *row_label)
{
	BestRow    *row;

	if (bs->nrows == bs->maxrows)
	{
		bs->maxrows *= 2;
		bs->rows = repalloc(bs->rows, sizeof(BestRow) * bs->maxrows);
	}
	row = &bs->rows[bs->nrows++];
	memset(row, 0, sizeof(BestRow));
	row->section = pstrdup(section);
	row->row_label = pstrdup(row_label);
	row->cand = -1;
	return row;
}

/* Read a row's available seats (seats_row_idx) and find its candidate. */
static void
row_read(BestSearch *bs, BestRow *row)
{
	Datum		values[4] = {bs->event, CStringGetTextDatum(row->section),
	CStringGetTextDatum(row->row_label), bs->max_price};
	char		nulls[4] = {' ', ' ', ' ', bs->no_max_price ? 'n' : ' '};
	uint64		n;

	n = tr_exec(TP_BEST_ROW, values, nulls, SPI_OK_SELECT);
	bs->statements++;
	bs->rows_read++;
	row->read = true;
	row->nseats = (int) n;
	row->seats = palloc(sizeof(BestSeat) * Max(n, 1));
	row->tried = palloc0(sizeof(bool) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		rank;

		row->seats[i].number = DatumGetInt32(tr_getdatum(i, 1, &isnull));
		rank = tr_getdatum(i, 2, &isnull);
		row->seats[i].rank = isnull ? TR_RANK_NONE : DatumGetInt32(rank);
		memcpy(&row->seats[i].id, DatumGetUUIDP(tr_getdatum(i, 3, &isnull)), UUID_LEN);
		row->seats[i].gone = false;
	}
	SPI_freetuptable(SPI_tuptable);
	row_candidate(row, bs->quantity);
}

/*
 * The least total rank a block of an unread row can have, the stream being
 * at rank cur: its seats seen so far, then seats not yet seen, which rank at
 * least cur.
 */
static int64
row_bound(const BestSearch *bs, const BestRow *row, int64 cur)
{
	return row->seen_sum + (int64) (bs->quantity - row->nseen) * cur;
}

/* Whether block total a of row ra comes before total b of row rb. */
static bool
block_before(int64 a, const BestRow *ra, int64 b, const BestRow *rb)
{
	int			c;

	if (a != b)
		return a < b;
	c = strcmp(ra->section, rb->section);
	if (c == 0)
		c = strcmp(ra->row_label, rb->row_label);
	return c < 0;
}

/* The unread row whose blocks may come first, or NULL. */
static BestRow *
lowest_unread(BestSearch *bs, int64 cur)
{
	BestRow    *low = NULL;

	for (int i = 0; i < bs->nrows; i++)
	{
		BestRow    *r = &bs->rows[i];

		if (!r->read && (low == NULL || block_before(row_bound(bs, r, cur), r,
													 row_bound(bs, low, cur), low)))
			low = r;
	}
	return low;
}

static BestRow *
row_find(BestSearch *bs, const char *section, const char *row_label)
{
	for (int i = 0; i < bs->nrows; i++)
		if (strcmp(bs->rows[i].section, section) == 0 &&
			strcmp(bs->rows[i].row_label, row_label) == 0)
			return &bs->rows[i];
	return NULL;
}

/* The best candidate of all rows met: lowest total, then section, row, first. */
static BestRow *
best_candidate(BestSearch *bs)
{
	BestRow    *best = NULL;

	for (int i = 0; i < bs->nrows; i++)
	{
		BestRow    *r = &bs->rows[i];
		int			c;

		if (!r->read || r->cand < 0)
			continue;
		if (best == NULL || r->total < best->total)
		{
			best = r;
			continue;
		}
		if (r->total > best->total)
			continue;
		c = strcmp(r->section, best->section);
		if (c == 0)
			c = strcmp(r->row_label, best->row_label);
		if (c == 0)
			c = r->seats[r->cand].number - best->seats[best->cand].number;
		if (c < 0)
			best = r;
	}
	return best;
}

/*
 * Which of n seats, locked by this call, are still available: one statement
 * of its own, so its snapshot is taken after the locks.  Marks the others
 * gone; returns how many are free.
 */
static int
still_free(BestSearch *bs, BestSeat **seats, int n)
{
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum		values[2];
	uint64		nfree;

	for (int i = 0; i < n; i++)
		ids[i] = UUIDPGetDatum(&seats[i]->id);
	values[0] = PointerGetDatum(construct_array(ids, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	values[1] = bs->event;
	nfree = tr_exec(TP_BEST_STILL_FREE, values, NULL, SPI_OK_SELECT);
	bs->statements++;
	if (nfree < (uint64) n)
		for (int i = 0; i < n; i++)
		{
			bool		still = false;

			for (uint64 j = 0; j < nfree && !still; j++)
			{
				bool		isnull;

				still = memcmp(DatumGetUUIDP(tr_getdatum(j, 1, &isnull)), &seats[i]->id,
							   UUID_LEN) == 0;
			}
			seats[i]->gone = !still;
		}
	SPI_freetuptable(SPI_tuptable);
	pfree(ids);
	return (int) nfree;
}

/* Give back the seat lock of one seat. */
static void
unlock_one(BestSeat *seat)
{
	TrSeatList	one = {1, &seat->id};

	tr_unlock_seats(&one, 1);
}

/* Lock one seat without waiting; a busy one is marked gone. */
static bool
lock_one(BestSeat *seat)
{
	TrSeatList	one = {1, &seat->id};

	if (tr_try_lock_seats(&one) < 0)
		return true;
	seat->gone = true;
	return false;
}

/*
 * Lock n seats (all or none, in ascending id order, never waiting) and
 * check that they are still available.  True when they are ours (the locks
 * stay); else the locks are given back and the seats that failed are gone.
 */
static bool
claim(BestSearch *bs, BestSeat **seats, int n)
{
	TrSeatList	list;
	int			busy;

	list.n = n;
	list.ids = palloc(sizeof(pg_uuid_t) * n);
	for (int i = 0; i < n; i++)
		list.ids[i] = seats[i]->id;
	qsort(list.ids, n, sizeof(pg_uuid_t), seat_id_cmp);
	busy = tr_try_lock_seats(&list);
	if (busy >= 0)
	{
		/* another call is taking that seat: skip it, do not wait */
		tr_unlock_seats(&list, busy);
		for (int i = 0; i < n; i++)
			if (memcmp(&seats[i]->id, &list.ids[busy], UUID_LEN) == 0)
				seats[i]->gone = true;
		pfree(list.ids);
		return false;
	}
	if (still_free(bs, seats, n) == n)
	{
		pfree(list.ids);
		return true;
	}
	tr_unlock_seats(&list, n);
	pfree(list.ids);
	return false;
}

/* Try the candidate of row; true when its seats are now ours. */
static bool
try_candidate(BestSearch *bs, BestRow *row, BestSeat **out)
{
	int			first = row->cand;

	for (int k = 0; k < bs->quantity; k++)
		out[k] = &row->seats[first + k];
	if (claim(bs, out, bs->quantity))
		return true;
	row->tried[first] = true;
	row_candidate(row, bs->quantity);
	return false;
}

/*
 * Together: the best block, locked, into out; false when none is free.
 *
 * The stream gives the available seats in rank order; a row is read only
 * when it may hold the best block.  At stream rank cur, a row never met has
 * no block below quantity * cur, and an unread row met in the stream none
 * below row_bound.  The best candidate of the rows read is tried once it
 * comes before both; an unread row that may come before it is read; else
 * the stream moves on.  Rows tied on rank across sections (each section's
 * row 1 is a front row) are therefore met in the stream but read one at a
 * time, the best first.
 */
static bool
pick_together(BestSearch *bs, BestSeat **out)
{
	Datum		values[3] = {bs->event, bs->section, bs->max_price};
	char		nulls[3] = {' ', bs->no_section ? 'n' : ' ', bs->no_max_price ? 'n' : ' '};
	Portal		portal = tr_cursor_open(TP_BEST_STREAM, values, nulls);
	SPITupleTable *batch = NULL;
	uint64		nbatch = 0,
				next = 0;
	bool		done = false;	/* the stream is at its end */
	bool		started = false;
	int64		cur = 0;		/* the rank of the stream's last seat */
	bool		found = false;

	bs->statements++;
	while (!found)
	{
		BestRow    *cand = best_candidate(bs);
		BestRow    *low = lowest_unread(bs, cur);
		bool		isnull;
		Datum		d;
		char	   *section;
		char	   *row_label;
		BestRow    *row;

		CHECK_FOR_INTERRUPTS();
		if (started || done)
		{
			/* blocks of rows never met total at least this (none: no limit) */
			int64		unmet = done ? PG_INT64_MAX : cur * bs->quantity;

			if (cand != NULL && cand->total < unmet &&
				(low == NULL || block_before(cand->total, cand, row_bound(bs, low, cur), low)))
			{
				found = try_candidate(bs, cand, out);
				continue;
			}
			if (low != NULL && row_bound(bs, low, cur) < unmet &&
				(cand == NULL || !block_before(cand->total, cand, row_bound(bs, low, cur), low)))
			{
				row_read(bs, low);
				continue;
			}
			if (done)
				break;
		}
		/* the stream's next seat */
		if (batch == NULL || next == nbatch)
		{
			if (batch != NULL)
				SPI_freetuptable(batch);
			SPI_cursor_fetch(portal, true, TR_BEST_FETCH);
			batch = SPI_tuptable;
			nbatch = SPI_processed;
			next = 0;
			if (nbatch == 0)
			{
				done = true;
				continue;
			}
		}
		d = SPI_getbinval(batch->vals[next], batch->tupdesc, 1, &isnull);
		cur = isnull ? TR_RANK_NONE : DatumGetInt32(d);
		section = TextDatumGetCString(SPI_getbinval(batch->vals[next], batch->tupdesc, 2, &isnull));
		row_label = TextDatumGetCString(SPI_getbinval(batch->vals[next], batch->tupdesc, 3, &isnull));
		next++;
		started = true;
		row = row_find(bs, section, row_label);
		if (row == NULL)
			row = row_add(bs, section, row_label);
		if (!row->read && row->nseen < bs->quantity)
		{
			row->seen_sum += cur;
			row->nseen++;
		}
		pfree(section);
		pfree(row_label);
	}
	if (batch != NULL)
		SPI_freetuptable(batch);
	SPI_cursor_close(portal);
	return found;
}

/*
 * Not together: the best single seats, locked, into out.  Each seat of a
 * batch is locked alone (busy ones skipped), then one statement checks the
 * locked ones; those taken meanwhile are let go and the stream goes on.
 */
static bool
pick_singles(BestSearch *bs, BestSeat **out)
{
	Datum		values[3] = {bs->event, bs->section, bs->max_price};
	char		nulls[3] = {' ', bs->no_section ? 'n' : ' ', bs->no_max_price ? 'n' : ' '};
	Portal		portal = tr_cursor_open(TP_BEST_SINGLES, values, nulls);
	int			got = 0;

	bs->statements++;
	while (got < bs->quantity)
	{
		uint64		n;
		BestSeat   *cands;
		BestSeat   *locked[TR_BEST_FETCH];
		int			nlocked = 0;

		SPI_cursor_fetch(portal, true, Min(TR_BEST_FETCH, bs->quantity - got));
		n = SPI_processed;
		if (n == 0)
			break;
		cands = palloc(sizeof(BestSeat) * n);
		for (uint64 i = 0; i < n; i++)
		{
			bool		isnull;

			memcpy(&cands[i].id, DatumGetUUIDP(tr_getdatum(i, 1, &isnull)), UUID_LEN);
			cands[i].gone = false;
		}
		SPI_freetuptable(SPI_tuptable);
		for (uint64 i = 0; i < n; i++)
		{
			CHECK_FOR_INTERRUPTS();
			if (lock_one(&cands[i]))
				locked[nlocked++] = &cands[i];
		}
		if (nlocked == 0)
			continue;
		(void) still_free(bs, locked, nlocked);
		for (int i = 0; i < nlocked; i++)
		{
			if (locked[i]->gone)
				unlock_one(locked[i]);
			else
				out[got++] = locked[i];
		}
	}
	SPI_cursor_close(portal);
	if (got < bs->quantity)
	{
		/* not enough: give back the locks taken */
		for (int i = 0; i < got; i++)
			unlock_one(out[i]);
		return false;
	}
	return true;
}

/*
 * The search: into *list (sorted, locked) the seats found; false when there
 * are not enough.  The caller is connected to SPI.
 */
static bool
best_pick(BestSearch *bs, bool together, TrSeatList *list)
{
	BestSeat  **out = palloc(sizeof(BestSeat *) * bs->quantity);
	bool		found;

	bs->nrows = 0;
	bs->rows_read = 0;
	bs->maxrows = 16;
	bs->rows = palloc(sizeof(BestRow) * bs->maxrows);
	found = together ? pick_together(bs, out) : pick_singles(bs, out);
	elog(DEBUG1, "ticketres: best available: %s; %d rows met, %d read, %lld statements",
		 found ? "found" : "none", bs->nrows, bs->rows_read, (long long) bs->statements);
	if (found)
	{
		list->n = bs->quantity;
		list->ids = palloc(sizeof(pg_uuid_t) * bs->quantity);
		for (int i = 0; i < bs->quantity; i++)
			list->ids[i] = out[i]->id;
		qsort(list->ids, list->n, sizeof(pg_uuid_t), seat_id_cmp);
	}
	return found;
}

/*
 * tr_reserve_best's search arguments, checked: event_id (0), quantity (1),
 * section (3), max_price (4), together (5); returns together.
 */
static bool
search_args(FunctionCallInfo fcinfo, BestSearch *bs)
{
	const int	a_event = 0,
				a_quantity = 1,
				a_section = 3,
				a_max_price = 4,
				a_together = 5;

	tr_check_not_null(fcinfo, a_event, "event_id");
	if (PG_ARGISNULL(a_quantity) || PG_GETARG_INT32(a_quantity) < 1 ||
		PG_GETARG_INT32(a_quantity) > TR_MAX_SEATS_PER_CALL)
		tr_bad_argument("quantity must be between 1 and %d", TR_MAX_SEATS_PER_CALL);
	tr_check_not_null(fcinfo, a_together, "together");
	bs->event = PG_GETARG_DATUM(a_event);
	bs->quantity = PG_GETARG_INT32(a_quantity);
	bs->no_section = PG_ARGISNULL(a_section);
	bs->no_max_price = PG_ARGISNULL(a_max_price);
	bs->section = bs->no_section ? (Datum) 0 : PG_GETARG_DATUM(a_section);
	bs->max_price = bs->no_max_price ? (Datum) 0 : PG_GETARG_DATUM(a_max_price);
	if (!bs->no_section)
	{
		text	   *t = PG_GETARG_TEXT_PP(a_section);
		int			len = pg_mbstrlen_with_len(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));

		if (len < 1 || len > 100)
			tr_bad_argument("section must be 1 to 100 characters");
	}
	if (!bs->no_max_price && PG_GETARG_INT64(a_max_price) < 0)
		tr_bad_argument("max_price must not be negative");
	return PG_GETARG_BOOL(a_together);
}

/* Expire up to 1000 overdue seat holds of the event nobody is working on. */
static int64
expire_event_overdue(Datum event)
{
	Oid			types[1] = {UUIDOID};
	Datum		values[1] = {event};
	bool		isnull;
	Datum		n;

	if (SPI_execute_with_args("SELECT ticketres._expire_overdue($1, NULL, 1000)",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "ticketres: lazy expiry failed");
	n = tr_getdatum(0, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(n);
}

/*
 * No fitting seats were found: if the event is not sold by best available
 * (tr_set_best_available off: none of its seats is in the indexes), PT409
 * not enough seats saying so.  Asked only then: a call that finds seats
 * runs no statement for it.
 */
static void
best_event_check(const pg_uuid_t *event)
{
	Datum		values[1] = {UUIDPGetDatum(event)};
	bool		isnull;

	if (tr_exec(TP_BEST_EVENT, values, NULL, SPI_OK_SELECT) != 1)
		elog(ERROR, "ticketres: event %s vanished under its lock", tr_uuid_str(event));
	if (!DatumGetBool(tr_getdatum(0, 1, &isnull)) && !isnull)
		ereport(ERROR,
				(errcode(TR_ERRCODE_CONFLICT),
				 errmsg(TR_MSG_NOT_ENOUGH_SEATS),
				 errdetail("Event %s is not sold by best available.", tr_uuid_str(event)),
				 errhint("Reserve seats by id (tr_reserve), or have an administrator turn best available on (tr_set_best_available).")));
}

PG_FUNCTION_INFO_V1(tr_reserve_best);

/*
 * tr_reserve_best(event_id uuid, quantity int, user_id text, section text,
 *                 max_price bigint, together boolean, idempotency_key text,
 *                 hold interval) returns ticketres.reservations
 *
 * The steps of tr_reserve (reserve.c), with the seats found by the search:
 * arguments; the event's lock, shared, never waiting; idempotency (the
 * same request returns the original, another is PT422); the event (exists,
 * booking open, quantity allowed); the search, which leaves the seats
 * locked and checked available (once more after a lazy expiry of the
 * event's overdue holds when none fit); their Redis keys; the seat guard
 * (cannot come up short: the seats were checked under their locks); the
 * counter; the reservation.
 */
Datum
tr_reserve_best(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	TimestampTz now = GetCurrentTimestamp();
	BestSearch	bs = {0};
	bool		together = search_args(fcinfo, &bs);
	pg_uuid_t  *event = PG_GETARG_UUID_P(0);
	char	   *user = tr_caller(fcinfo, 2);
	char	   *key = NULL;
	int64		hold_usecs = -1;
	TrSeatList	seats;
	Datum		seat_arr;
	pg_uuid_t	res_id;
	int64		total = 0;
	int64		lazy = 0;
	Datum		result;
	TrLogEvent	e = {0};
	int			busy;

	if (!PG_ARGISNULL(6))
		key = tr_text_arg(fcinfo, 6, "idempotency_key", TR_MAX_KEY_LEN);
	tr_reserve_begin(event);
	if (key != NULL)
	{
		/* the same request: same event, quantity, section, max_price, together */
		Oid			types[6] = {UUIDOID, UUIDOID, INT4OID, TEXTOID, INT8OID, BOOLOID};
		Datum		values[6] = {0, bs.event, Int32GetDatum(bs.quantity), bs.section,
		bs.max_price, BoolGetDatum(together)};
		char		nulls[6] = {' ', ' ', ' ', bs.no_section ? 'n' : ' ', bs.no_max_price ? 'n' : ' ', ' '};

		tr_lock_idempotency_key(user, key);
		if (tr_replay_same(user, key, now,
						   "SELECT ticketres._best_matches(x, $2, $3, $4, $5, $6)"
						   " FROM ticketres.reservations x WHERE x.id = $1",
						   6, types, values, nulls))
		{
			result = tr_result_row(fcinfo, outer, 0);
			SPI_finish();
			PG_RETURN_DATUM(result);
		}
	}
	if (!PG_ARGISNULL(7))
		hold_usecs = tr_hold_usecs(PG_GETARG_INTERVAL_P(7));
	hold_usecs = tr_check_event(event, bs.quantity, now, hold_usecs);

	if (!best_pick(&bs, together, &seats) &&
		((lazy = expire_event_overdue(bs.event)) == 0 || !best_pick(&bs, together, &seats)))
	{
		best_event_check(event);
		ereport(ERROR,
				(errcode(TR_ERRCODE_CONFLICT),
				 errmsg(TR_MSG_NOT_ENOUGH_SEATS),
				 errdetail("%d %sseats%s%s%s%s were asked for; none such are free.", bs.quantity,
						   together && bs.quantity > 1 ? "adjacent " : "",
						   bs.no_section ? "" : " in section ",
						   bs.no_section ? "" : TextDatumGetCString(bs.section),
						   bs.no_max_price ? "" : " priced at most ",
						   bs.no_max_price ? "" : psprintf(INT64_FORMAT, DatumGetInt64(bs.max_price))),
				 errhint("Ask for fewer seats, another section or a higher max_price.")));
	}
	busy = tr_redis_lock_seats(event, &seats);
	if (busy >= 0)
		tr_redis_busy_error(&seats.ids[busy]);

	seat_arr = tr_seat_list_array(&seats);
	tr_new_uuid(&res_id, event);
	if (tr_take_seats(seat_arr, event, &res_id, now, &total) != seats.n)
		elog(ERROR, "ticketres: best-available seats changed under their locks");
	tr_count_add(UUIDPGetDatum(event), -(int64) seats.n);
	tr_insert_reservation(&res_id, event, user, seat_arr, key, total, now, hold_usecs);
	result = tr_result_row(fcinfo, outer, 0);
	SPI_finish();

	e.action = "reserve";
	e.outcome = "created";
	e.event = event;
	e.reservation = &res_id;
	e.user = user;
	e.seats = seats.n;
	tr_log_change(&e);
	PG_RETURN_DATUM(result);
}
