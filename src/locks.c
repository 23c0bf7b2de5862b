/*
 * locks.c — transaction-scoped advisory locks.
 *
 * Seat locks: every seat a call will move is locked, in ascending seat id
 * order, with a non-waiting attempt; a seat another transaction holds is
 * "seat busy" at once. The lock is the one SQL takes with
 * pg_try_advisory_xact_lock(key1, key2), keys from ticketres.seat_lock_keys(),
 * so other code can coordinate on the same seats.
 *
 * Event locks come first, before any seat: tr_reserve holds its event's lock
 * shared, without waiting (a reserve does not lock the event row: no foreign
 * key check, no multixact on one hot row); tr_delete_event takes it
 * exclusively, so it waits out in-flight reserves and new ones are refused
 * (seat busy) until it is done.
 *
 * Stripe locks: a stripe of an event's availability counter (counts.c) is
 * written only by the transaction holding its lock, taken without waiting.
 *
 * Idempotency-key locks serialize calls that share (user_id, key); they wait,
 * so a retry racing its original gets the original's reservation.
 */
#include "ticketres.h"

#include "errors.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"

#define TR_LOCK_FIELD4_INT4PAIR 2	/* as pg_advisory_xact_lock(int4, int4) */
#define TR_LOCK_FIELD4_INT8 1		/* as pg_advisory_xact_lock(int8) */
#define TR_LOCK_FIELD4_EVENT 3		/* no SQL function takes these */
#define TR_LOCK_FIELD4_STRIPE 4		/* nor these */

static uint32
be32(const unsigned char *p)
{
	return ((uint32) p[0] << 24) | ((uint32) p[1] << 16) | ((uint32) p[2] << 8) | p[3];
}

/* The two advisory lock keys of a seat: its id folded to 64 bits. */
void
tr_seat_lock_keys(const pg_uuid_t *seat, uint32 *k1, uint32 *k2)
{
	*k1 = be32(seat->data) ^ be32(seat->data + 8);
	*k2 = be32(seat->data + 4) ^ be32(seat->data + 12);
}

static void
seat_locktag(LOCKTAG *tag, const pg_uuid_t *seat)
{
	uint32		k1,
				k2;

	tr_seat_lock_keys(seat, &k1, &k2);
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, k1, k2, TR_LOCK_FIELD4_INT4PAIR);
}

/*
 * Try to lock every seat of the (sorted) list without waiting. Returns -1
 * when all are locked, else the index of the first busy seat; the seats
 * before it stay locked until transaction end (or tr_unlock_seats).
 */
int
tr_try_lock_seats(const TrSeatList *seats)
{
	for (int i = 0; i < seats->n; i++)
	{
		LOCKTAG		tag;

		seat_locktag(&tag, &seats->ids[i]);
		if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
			return i;
	}
	return -1;
}

/* Take the event's lock shared without waiting; false when it is not free. */
bool
tr_try_lock_event(const pg_uuid_t *event)
{
	LOCKTAG		tag;
	uint32		k1,
				k2;

	tr_seat_lock_keys(event, &k1, &k2);
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, k1, k2, TR_LOCK_FIELD4_EVENT);
	return LockAcquire(&tag, ShareLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * Take the lock of a stripe of the event's availability counter without
 * waiting; false when another transaction holds it.  Two stripes whose keys
 * collide only make a writer pass over one stripe it could have used.
 */
bool
tr_try_lock_stripe(const pg_uuid_t *event, int stripe)
{
	LOCKTAG		tag;
	uint32		k1,
				k2;

	tr_seat_lock_keys(event, &k1, &k2);
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, k1, k2 ^ (uint32) stripe, TR_LOCK_FIELD4_STRIPE);
	return LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * Raise seat busy (with hint) unless every seat is locked (advisory, then
 * Redis).  With grace, a busy seat is tried again every millisecond for that
 * many milliseconds: for an idempotent retry that has just waited for its
 * original to end, whose seat locks may not all be released yet (a
 * transaction's locks are released one by one, the key's possibly first).
 */
void
tr_lock_seats_or_busy(const pg_uuid_t *event, const TrSeatList *seats, const char *hint,
					  int grace)
{
	int			busy = tr_try_lock_seats(seats);

	for (int i = 0; busy >= 0 && i < grace; i++)
	{
		CHECK_FOR_INTERRUPTS();
		pg_usleep(1000L);
		busy = tr_try_lock_seats(seats);
	}
	if (busy >= 0)
		ereport(ERROR,
				(errcode(TR_ERRCODE_CONFLICT),
				 errmsg(TR_MSG_SEAT_BUSY),
				 errdetail("Seat %s is locked by a concurrent call.",
						   tr_uuid_str(&seats->ids[busy])),
				 errhint("%s", hint)));
	busy = tr_redis_lock_seats(event, seats);
	if (busy >= 0)
		tr_redis_busy_error(&seats->ids[busy]);
}

/* Release the first nlocked seat locks of the list before transaction end. */
void
tr_unlock_seats(const TrSeatList *seats, int nlocked)
{
	for (int i = 0; i < nlocked; i++)
	{
		LOCKTAG		tag;

		seat_locktag(&tag, &seats->ids[i]);
		LockRelease(&tag, ExclusiveLock, false);
	}
}

/*
 * Wait for, then hold until transaction end, the lock of (user_id, key);
 * returns whether it had to wait (a call with the same key was running).
 */
bool
tr_lock_idempotency_key(const char *user_id, const char *key)
{
	size_t		ul = strlen(user_id);
	size_t		kl = strlen(key);
	char	   *buf = palloc(ul + kl + 1);
	uint64		h;
	LOCKTAG		tag;

	memcpy(buf, user_id, ul + 1);	/* keeps the NUL as a separator */
	memcpy(buf + ul + 1, key, kl);
	h = hash_bytes_extended((unsigned char *) buf, ul + kl + 1, 0x7469636b);
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (h >> 32), (uint32) h,
						 TR_LOCK_FIELD4_INT8);
	if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
		return false;
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	return true;
}

PG_FUNCTION_INFO_V1(tr_lock_event_sql);

/*
 * ticketres._lock_event(event_id uuid): the event's lock, exclusively, for
 * tr_delete_event; waits for in-flight reserves (bounded by lock_timeout).
 */
Datum
tr_lock_event_sql(PG_FUNCTION_ARGS)
{
	LOCKTAG		tag;
	uint32		k1,
				k2;

	tr_check_not_null(fcinfo, 0, "event_id");
	tr_seat_lock_keys(PG_GETARG_UUID_P(0), &k1, &k2);
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, k1, k2, TR_LOCK_FIELD4_EVENT);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(tr_try_lock_seats_sql);

/*
 * ticketres._try_lock_seats(event_id uuid, seat_ids uuid[]): the seat locks
 * the C calls take, for the SQL functions (admin controls): PT409 seat busy
 * at the first seat another call holds.
 */
Datum
tr_try_lock_seats_sql(PG_FUNCTION_ARGS)
{
	TrSeatList	seats;

	tr_check_not_null(fcinfo, 0, "event_id");
	seats = tr_seat_list_arg(fcinfo, 1);
	tr_lock_seats_or_busy(PG_GETARG_UUID_P(0), &seats, "Retry shortly; nothing was changed.", 0);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(tr_seat_lock_keys_sql);

/* ticketres.seat_lock_keys(seat_id uuid, OUT key1 int, OUT key2 int) */
Datum
tr_seat_lock_keys_sql(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	uint32		k1,
				k2;

	tr_check_not_null(fcinfo, 0, "seat_id");
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "ticketres: seat_lock_keys must return a record");
	tr_seat_lock_keys(PG_GETARG_UUID_P(0), &k1, &k2);
	values[0] = Int32GetDatum((int32) k1);
	values[1] = Int32GetDatum((int32) k2);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
