/*
 * redis_lock.c — taking and releasing Redis seat keys.
 *
 * When a URL is set, every call that moves seats (reserve, confirm, cancel,
 * expiry, the admin controls) also takes one Redis key per seat,
 *     <redis_key_prefix>:<event_id>:<seat_id>
 * all of a call's keys in one round trip and all or nothing (a Lua script
 * doing SET NX PX for every key, or nothing), valued with a random token per
 * call. A key someone else holds is "seat busy". Keys are released by
 * compare-and-delete (only our token), again in one round trip; the TTL
 * cleans up whatever a release could not.
 *
 * Redis is an early, cross-process filter only: a lease can lapse while its
 * holder still works, so correctness rests on the row guard (reserve.c).
 * That is why a Redis that is down may be skipped (redis_on_error = allow).
 */
#include "redis_int.h"

#include "catalog/pg_type.h"
#include "errors.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#define TR_REDIS_WARN_EVERY		(10 * USECS_PER_SEC)

/* ---- settings (defined in ticketres.c) ---- */
char	   *tr_redis_key_prefix = NULL;
int			tr_redis_lock_ttl_ms = 10000;
int			tr_redis_on_error = TR_REDIS_ON_ERROR_ALLOW;

static TimestampTz last_warning = 0;

/*
 * ACQUIRE: KEYS are the keys of one or more groups (ARGV[3..] are the group
 * sizes), ARGV[1] the token, ARGV[2] the TTL in ms. Each group is taken
 * whole or not at all; returns per group 0 (taken) or the 1-based position
 * in the group of the first key someone holds.
 */
TrScript	tr_acquire_script = {
	"local token, ttl, res, k = ARGV[1], ARGV[2], {}, 1\n"
	"for g = 3, #ARGV do\n"
	"  local n, busy = tonumber(ARGV[g]), 0\n"
	"  for i = k, k + n - 1 do\n"
	"    if redis.call('EXISTS', KEYS[i]) == 1 then busy = i - k + 1 break end\n"
	"  end\n"
	"  if busy == 0 then\n"
	"    for i = k, k + n - 1 do redis.call('SET', KEYS[i], token, 'PX', ttl) end\n"
	"  end\n"
	"  res[#res + 1] = busy\n"
	"  k = k + n\n"
	"end\n"
	"return res\n",
	{0}
};

/* RELEASE: delete KEYS[i] only while it still holds ARGV[i]; returns how many. */
TrScript	tr_release_script = {
	"local n = 0\n"
	"for i = 1, #KEYS do\n"
	"  if redis.pcall('GET', KEYS[i]) == ARGV[i] then redis.call('DEL', KEYS[i]) n = n + 1 end\n"
	"end\n"
	"return n\n",
	{0}
};

/* The Redis key of a seat: <prefix>:<event_id>:<seat_id>. */
char *
tr_redis_seat_key(const pg_uuid_t *event, const pg_uuid_t *seat)
{
	return psprintf("%s:%s:%s", tr_redis_key_prefix, tr_uuid_str(event), tr_uuid_str(seat));
}

/*
 * Redis could not be used: WARNING (at most every 10 s per backend, else
 * DEBUG1) and go on under allow; PT503 under deny.
 */
static void
redis_unavailable(const char *err)
{
	TimestampTz now = GetCurrentTimestamp();

	if (tr_redis_on_error == TR_REDIS_ON_ERROR_DENY)
		ereport(ERROR,
				(errcode(TR_ERRCODE_UNAVAILABLE),
				 errmsg(TR_MSG_LOCK_UNAVAILABLE),
				 errdetail("Redis seat locks could not be taken: %s.", err),
				 errhint("Nothing was changed. Retry when Redis is back, or set "
						 "ticketres.redis_on_error = allow to go on with the database guards alone.")));
	ereport(now - last_warning >= TR_REDIS_WARN_EVERY ? WARNING : DEBUG1,
			(errmsg("ticketres: Redis seat locks skipped: %s", err),
			 errdetail("ticketres.redis_on_error = allow: the database guards alone protect the seats.")));
	last_warning = now;
}

/* The keys of one acquire call that this transaction does not hold yet. */
typedef struct TrKeyBatch
{
	int			nkeys;
	char	  **keys;			/* nkeys keys, group after group */
	int		   *gsize;			/* per group: how many of its keys are sent */
} TrKeyBatch;

/* The keys of the seats of ngroups lists, less those this transaction holds. */
static TrKeyBatch
batch_keys(const pg_uuid_t *const *events, const TrSeatList *lists, int ngroups)
{
	TrKeyBatch	b;
	int			total = 0;

	for (int g = 0; g < ngroups; g++)
		total += lists[g].n;
	b.nkeys = 0;
	b.keys = palloc(sizeof(char *) * (total + 1));
	b.gsize = palloc0(sizeof(int) * ngroups);
	for (int g = 0; g < ngroups; g++)
		for (int i = 0; i < lists[g].n; i++)
		{
			char	   *key = tr_redis_seat_key(events[g], &lists[g].ids[i]);

			if (tr_held_has(key))
				continue;		/* ours already, from an earlier call */
			b.keys[b.nkeys++] = key;
			b.gsize[g]++;
		}
	return b;
}

/* The acquire script's answer: per group an integer from 0 to its size. */
static bool
acquire_reply_ok(const redisReply *r, const TrKeyBatch *b, int ngroups)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t) ngroups)
		return false;
	for (int g = 0; g < ngroups; g++)
		if (r->element[g] == NULL || r->element[g]->type != REDIS_REPLY_INTEGER ||
			r->element[g]->integer < 0 || r->element[g]->integer > b->gsize[g])
			return false;
	return true;
}

/*
 * One round trip of the acquire script for the batch, with token; returns
 * the reply (an array of ngroups integers) or NULL with err filled.
 */
static redisReply *
acquire_round_trip(const TrKeyBatch *b, int ngroups, const char *token, bool *sent,
				   char *err, size_t errlen)
{
	int			argc = 3 + b->nkeys + 2 + ngroups;
	const char **argv = palloc(sizeof(char *) * argc);
	size_t	   *lens = palloc(sizeof(size_t) * argc);
	redisReply *r;

	argv[2] = psprintf("%d", b->nkeys);
	for (int i = 0; i < b->nkeys; i++)
		argv[3 + i] = b->keys[i];
	argv[3 + b->nkeys] = token;
	argv[4 + b->nkeys] = psprintf("%d", tr_redis_lock_ttl_ms);
	for (int g = 0; g < ngroups; g++)
		argv[5 + b->nkeys + g] = psprintf("%d", b->gsize[g]);
	for (int i = 2; i < argc; i++)
		lens[i] = strlen(argv[i]);
	r = tr_redis_run_script(&tr_acquire_script, argc, argv, lens, sent, err, errlen);
	if (r != NULL && !acquire_reply_ok(r, b, ngroups))
	{
		snprintf(err, errlen, "unexpected answer to the lock script");
		freeReplyObject(r);
		tr_redis_drop_connection();
		r = NULL;
	}
	return r;
}

/*
 * Book the keys of the groups the reply says were taken, note in busy[g]
 * the position among the sent keys of the first busy one, and free the reply.
 */
static void
book_reply(redisReply *r, const TrKeyBatch *b, int ngroups, const char *token, int *busy)
{
	int			start = 0;

	for (int g = 0; g < ngroups; g++)
	{
		long long	pos = r->element[g]->integer;	/* checked by acquire_reply_ok */

		if (pos == 0)
			for (int i = start; i < start + b->gsize[g]; i++)
				tr_held_add(b->keys[i], token);
		else
			busy[g] = start + (int) pos - 1;
		start += b->gsize[g];
	}
	freeReplyObject(r);
}

/*
 * An acquire got no usable answer: if it may have reached Redis, which runs
 * it when it wakes, its keys are owed a release. Then allow or deny.
 */
static void
acquire_failed(const TrKeyBatch *b, const char *token, bool sent, instr_time t0,
			   const char *err)
{
	if (sent)
	{
		for (int i = 0; i < b->nkeys; i++)
			tr_owed_add(b->keys[i], token);
		tr_owed_trim();
	}
	tr_redis_failed();
	tr_metrics_redis(TR_REDIS_ERROR, tr_usecs_since(t0));
	redis_unavailable(err);
}

/* The index in list of the seat whose key is key (0 if none). */
static int
seat_of_key(const char *key, const pg_uuid_t *event, const TrSeatList *list)
{
	for (int i = 0; i < list->n; i++)
		if (strcmp(key, tr_redis_seat_key(event, &list->ids[i])) == 0)
			return i;
	return 0;
}

/*
 * Take the Redis keys of ngroups seat lists (group g: seats lists[g] of event
 * events[g]), each group all or nothing, in one round trip. busy[g] is set
 * to -1 when group g is ours (or Redis is off, or skipped under allow), else
 * to the index in lists[g] of the first seat someone else holds. Keys this
 * transaction already holds count as ours. Raises PT503 under deny.
 */
void
tr_redis_lock_groups(const pg_uuid_t *const *events, const TrSeatList *lists, int ngroups,
					 int *busy)
{
	MemoryContext cxt,
				old;
	TrKeyBatch	b;
	char	   *token;
	char		err[256];
	bool		sent;
	redisReply *r;
	instr_time	t0;

	for (int g = 0; g < ngroups; g++)
		busy[g] = -1;
	if (!tr_redis_enabled() || ngroups == 0)
		return;
	if (tr_redis_resting())
	{
		tr_metrics_redis(TR_REDIS_ERROR, -1);
		redis_unavailable("it failed moments ago (ticketres.redis_retry_interval)");
		return;
	}
	/* keys and argv of a whole expiry batch: gone when the call is done */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "ticketres redis call",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	b = batch_keys(events, lists, ngroups);
	if (b.nkeys > 0)
	{
		tr_held_reserve(b.nkeys);	/* past the round trip only an out-of-memory error
								 * could leave keys unbooked: their TTL frees them */
		token = tr_held_new_token();
		INSTR_TIME_SET_CURRENT(t0);
		r = acquire_round_trip(&b, ngroups, token, &sent, err, sizeof(err));
		if (r == NULL)
		{
			MemoryContextSwitchTo(old);
			acquire_failed(&b, token, sent, t0, err);
			MemoryContextDelete(cxt);
			return;
		}
		book_reply(r, &b, ngroups, token, busy);
		for (int g = 0; g < ngroups; g++)
		{
			if (busy[g] >= 0)
				busy[g] = seat_of_key(b.keys[busy[g]], events[g], &lists[g]);
			tr_metrics_redis(busy[g] < 0 ? TR_REDIS_ACQUIRED : TR_REDIS_BUSY,
							 g == 0 ? tr_usecs_since(t0) : -1);
		}
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/* One seat list: -1 when taken (or Redis off/skipped), else the busy index. */
int
tr_redis_lock_seats(const pg_uuid_t *event, const TrSeatList *seats)
{
	int			busy;

	tr_redis_lock_groups(&event, seats, 1, &busy);
	return busy;
}

/*
 * Send one release (compare-and-delete) of every owed key not sent yet,
 * without waiting for its answer. False with err filled if it could not be
 * sent (the keys stay owed). Allocates only with malloc: runs at
 * transaction end too.
 */
bool
tr_redis_flush_owed(char *err, size_t errlen)
{
	int			n = tr_owed_unsent();
	int			argc = 3 + 2 * n;
	const char **argv;
	size_t	   *lens;
	char		nkeys[16];
	bool		sent = false;

	if (n == 0)
		return true;
	argv = malloc(sizeof(char *) * argc);
	lens = malloc(sizeof(size_t) * argc);
	if (argv != NULL && lens != NULL)
	{
		snprintf(nkeys, sizeof(nkeys), "%d", n);
		argv[2] = nkeys;
		tr_owed_take(argv + 3, argv + 3 + n, tr_redis_next_release());
		for (int i = 2; i < argc; i++)
			lens[i] = strlen(argv[i]);
		sent = tr_redis_send_release(argc, argv, lens, err, errlen);
	}
	else
		snprintf(err, errlen, "out of memory");
	free(argv);
	free(lens);
	return sent;
}

/*
 * Release the held keys from index first on: they become owed, and every
 * owed key is sent in one round trip whose answer is not waited for. Never
 * raises: if Redis cannot be reached, they are released when it answers
 * again (the next call of this backend), else expire by TTL.
 */
void
tr_redis_release_held(int first)
{
	int			n = tr_held_owe_from(first);
	char		err[256];
	bool		sent;

	if (n == 0)
		return;
	if ((!tr_redis_connected() && !tr_redis_enabled()) || tr_redis_resting())
	{
		tr_owed_trim();			/* Redis is known to be down: owed */
		return;
	}
	sent = tr_redis_connection(true, err, sizeof(err)) != NULL;
	tr_owed_trim();
	if (sent)
		return;
	tr_metrics_redis(TR_REDIS_RELEASE_ERROR, -1);
	tr_redis_failed();
	ereport(WARNING,
			(errmsg("ticketres: could not release %d Redis seat lock%s yet: %s", n,
					n == 1 ? "" : "s", err),
			 errhint("They are released when Redis answers this session again, "
					 "else expire after ticketres.redis_lock_ttl.")));
}

PG_FUNCTION_INFO_V1(tr_redis_seat_key_sql);

/* ticketres.redis_seat_key(event_id uuid, seat_id uuid) returns text */
Datum
tr_redis_seat_key_sql(PG_FUNCTION_ARGS)
{
	tr_check_not_null(fcinfo, 0, "event_id");
	tr_check_not_null(fcinfo, 1, "seat_id");
	PG_RETURN_TEXT_P(cstring_to_text(tr_redis_seat_key(PG_GETARG_UUID_P(0),
													   PG_GETARG_UUID_P(1))));
}

PG_FUNCTION_INFO_V1(tr_redis_lock_seats_sql);

/*
 * ticketres._redis_lock_seats(event_id uuid, seat_ids uuid[]) returns void:
 * the Redis step of the admin controls; PT409 seat busy or PT503.
 */
Datum
tr_redis_lock_seats_sql(PG_FUNCTION_ARGS)
{
	TrSeatList	seats;
	pg_uuid_t  *event;
	int			busy;

	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;

	tr_check_not_null(fcinfo, 0, "event_id");
	tr_check_not_null(fcinfo, 1, "seat_ids");
	event = PG_GETARG_UUID_P(0);
	/* the admin callers checked the list; it may be longer than a reserve's */
	arr = PG_GETARG_ARRAYTYPE_P(1);
	deconstruct_array(arr, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &elems, &nulls, &seats.n);
	seats.ids = palloc(sizeof(pg_uuid_t) * (seats.n + 1));
	for (int i = 0; i < seats.n; i++)
	{
		if (nulls[i])
			tr_bad_argument("seat_ids must not contain nulls");
		memcpy(&seats.ids[i], DatumGetUUIDP(elems[i]), UUID_LEN);
	}
	busy = tr_redis_lock_seats(event, &seats);
	if (busy >= 0)
		tr_redis_busy_error(&seats.ids[busy]);
	PG_RETURN_VOID();
}

/* PT409 seat busy for a seat whose Redis key another holder has. */
void
tr_redis_busy_error(const pg_uuid_t *seat)
{
	ereport(ERROR,
			(errcode(TR_ERRCODE_CONFLICT),
			 errmsg(TR_MSG_SEAT_BUSY),
			 errdetail("Seat %s is locked in Redis by another holder.", tr_uuid_str(seat)),
			 errhint("Retry shortly or choose other seats; nothing was changed.")));
}
