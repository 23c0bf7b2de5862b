/*
 * redis_held.c — the Redis keys this backend holds or owes a release of.
 *
 * Held keys: in the order taken, each with the token of the call that took it (one
 * random 128-bit token per call) and the subtransaction that took it, plus
 * a hash of the keys for "do we hold it already" (keys are reentrant within
 * a transaction). Everything lives in one memory context under
 * TopMemoryContext, reset at top-level transaction end.
 *
 * Owed keys: see below; they outlive transactions.
 */
#include "redis_int.h"

#include "access/xact.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

/* for the lookup of keys already held: key -> nothing */
typedef struct TrHeldEntry
{
	char		key[TR_REDIS_KEY_MAX];
} TrHeldEntry;

TrHeldKey  *tr_held = NULL;		/* in the order taken */
int			tr_nheld = 0;

static MemoryContext held_cxt = NULL;	/* reset at top-level transaction end */
static HTAB *held_index = NULL;
static int	maxheld = 0;

/* Make room for more keys (and create the context on first use). */
void
tr_held_reserve(int more)
{
	if (held_cxt == NULL)
		held_cxt = AllocSetContextCreate(TopMemoryContext, "ticketres redis locks",
										 ALLOCSET_SMALL_SIZES);
	if (tr_nheld + more <= maxheld)
		return;
	maxheld = Max(tr_nheld + more, Max(16, maxheld * 2));
	tr_held = tr_held == NULL ? MemoryContextAlloc(held_cxt, sizeof(TrHeldKey) * maxheld)
		: repalloc(tr_held, sizeof(TrHeldKey) * maxheld);
}

/* Whether this transaction holds key. */
bool
tr_held_has(const char *key)
{
	return held_index != NULL && hash_search(held_index, key, HASH_FIND, NULL) != NULL;
}

/* Book a key as held by the current subtransaction (space was reserved). */
void
tr_held_add(const char *key, const char *token)
{
	if (held_index == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = TR_REDIS_KEY_MAX;
		ctl.entrysize = sizeof(TrHeldEntry);
		ctl.hcxt = held_cxt;
		held_index = hash_create("ticketres redis held keys", 64, &ctl,
								 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	(void) hash_search(held_index, key, HASH_ENTER, NULL);
	tr_held[tr_nheld].key = MemoryContextStrdup(held_cxt, key);
	tr_held[tr_nheld].token = token;
	tr_held[tr_nheld].subid = GetCurrentSubTransactionId();
	tr_nheld++;
}

/* Forget the held keys from index first on (allocates nothing). */
void
tr_held_truncate(int first)
{
	for (int i = first; i < tr_nheld; i++)
		if (held_index != NULL)
			(void) hash_search(held_index, tr_held[i].key, HASH_REMOVE, NULL);
	tr_nheld = Min(tr_nheld, first);
}

/* Forget every held key (top-level transaction end). */
void
tr_held_clear(void)
{
	tr_held = NULL;
	held_index = NULL;
	tr_nheld = maxheld = 0;
	if (held_cxt != NULL)
		MemoryContextReset(held_cxt);
}

/* A new random token in the held-key context (call tr_held_reserve first). */
char *
tr_held_new_token(void)
{
	char	   *token = MemoryContextAlloc(held_cxt, TR_REDIS_TOKEN_LEN + 1);
	uint8		raw[TR_REDIS_TOKEN_LEN / 2];

	if (!pg_strong_random(raw, sizeof(raw)))
		elog(ERROR, "ticketres: could not generate a Redis lock token");
	for (int i = 0; i < (int) sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	return token;
}

/* ------------------------------------------------------------ owed keys */

/*
 * Keys whose release is owed: those of a release that could not be sent or
 * whose answer never came, and those of an acquire whose answer never came
 * (Redis may still run it when it wakes). They outlive the transaction: the
 * next connection that works releases them (compare-and-delete with their
 * own token) before anything else. malloc'ed, as they are added at
 * transaction end; bounded by TR_REDIS_OWED_MAX keys, oldest dropped first.
 */
typedef struct TrOwedKey
{
	char	   *key;			/* "key\0token" */
	uint64		sent;			/* the release carrying it; 0: not sent yet */
} TrOwedKey;

static TrOwedKey *owed = NULL;
static int	nowed = 0;
static int	maxowed = 0;
static int	owed_dropped = 0;	/* dropped since the last tr_owed_report */

/* Drop the oldest quarter of the owed keys (counted for tr_owed_report). */
static void
owed_drop_oldest(void)
{
	int			n = Max(1, nowed / 4);

	for (int i = 0; i < n; i++)
		free(owed[i].key);
	memmove(owed, owed + n, sizeof(TrOwedKey) * (nowed - n));
	nowed -= n;
	owed_dropped += n;
}

/* Room for one more owed key; false (and counted as dropped) if none. */
static bool
owed_room(void)
{
	TrOwedKey  *grown;
	int			want;

	if (nowed >= TR_REDIS_OWED_MAX)
		owed_drop_oldest();
	if (nowed < maxowed)
		return true;
	want = Min(TR_REDIS_OWED_MAX, Max(64, maxowed * 2));
	grown = realloc(owed, sizeof(TrOwedKey) * want);
	if (grown == NULL)
		return false;
	owed = grown;
	maxowed = want;
	return true;
}

/* Owe the release of key, taken with token. Never raises. */
void
tr_owed_add(const char *key, const char *token)
{
	size_t		klen = strlen(key);
	char	   *copy;

	if (!owed_room() || (copy = malloc(klen + TR_REDIS_TOKEN_LEN + 2)) == NULL)
	{
		owed_dropped++;
		return;
	}
	memcpy(copy, key, klen + 1);
	memcpy(copy + klen + 1, token, TR_REDIS_TOKEN_LEN + 1);
	owed[nowed].key = copy;
	owed[nowed].sent = 0;
	nowed++;
}

/*
 * Point keys[] and tokens[] (room for tr_owed_unsent() each) at the owed
 * keys not sent yet, and mark them as carried by release number seq.
 */
void
tr_owed_take(const char **keys, const char **tokens, uint64 seq)
{
	int			n = 0;

	for (int i = 0; i < nowed; i++)
		if (owed[i].sent == 0)
		{
			keys[n] = owed[i].key;
			tokens[n] = owed[i].key + strlen(owed[i].key) + 1;
			owed[i].sent = seq;
			n++;
		}
}

/* How many owed keys are not sent yet. */
int
tr_owed_unsent(void)
{
	int			n = 0;

	for (int i = 0; i < nowed; i++)
		n += owed[i].sent == 0;
	return n;
}

/* Release number seq was answered: its keys are no longer owed. */
void
tr_owed_settled(uint64 seq)
{
	int			n = 0;

	for (int i = 0; i < nowed; i++)
	{
		if (owed[i].sent == seq)
			free(owed[i].key);
		else
			owed[n++] = owed[i];
	}
	nowed = n;
}

/* Release number seq (or, for 0, every release) will never be answered. */
void
tr_owed_unsend(uint64 seq)
{
	for (int i = 0; i < nowed; i++)
		if (seq == 0 || owed[i].sent == seq)
			owed[i].sent = 0;
}

/* WARNING about owed keys dropped since the last report (never silent). */
void
tr_owed_report(void)
{
	if (owed_dropped == 0)
		return;
	tr_metrics_redis(TR_REDIS_RELEASE_ERROR, -1);
	ereport(WARNING,
			(errmsg("ticketres: %d Redis seat lock release%s dropped: this backend owed more than %d",
					owed_dropped, owed_dropped == 1 ? "" : "s", TR_REDIS_OWED_MAX),
			 errhint("The keys expire by themselves after ticketres.redis_lock_ttl.")));
	owed_dropped = 0;
}
