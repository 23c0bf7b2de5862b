/*
 * redis_held.c — the Redis keys this backend holds or owes a release of.
 *
 * Held keys: in the order taken, each with the token of the call that took
 * it (one random 128-bit token per call) and the subtransaction that took
 * it, plus a hash of the keys for "do we hold it already" (keys are
 * reentrant within a transaction). They live in one memory context under
 * TopMemoryContext, reset at top-level transaction end.
 *
 * Owed keys: those whose release is due but not known to be done. They
 * outlive transactions (see the second half of this file).
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

/* A key this transaction holds. */
typedef struct TrHeldKey
{
	char	   *key;
	const char *token;			/* points into the held-key context */
	SubTransactionId subid;
} TrHeldKey;

static TrHeldKey *held = NULL;	/* in the order taken */
static int	nheld = 0;

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
	if (nheld + more <= maxheld)
		return;
	maxheld = Max(nheld + more, Max(16, maxheld * 2));
	held = held == NULL ? MemoryContextAlloc(held_cxt, sizeof(TrHeldKey) * maxheld)
		: repalloc(held, sizeof(TrHeldKey) * maxheld);
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
	held[nheld].key = MemoryContextStrdup(held_cxt, key);
	held[nheld].token = token;
	held[nheld].subid = GetCurrentSubTransactionId();
	nheld++;
}

/* Forget the held keys from index first on (allocates nothing). */
static void
held_truncate(int first)
{
	for (int i = first; i < nheld; i++)
		if (held_index != NULL)
			(void) hash_search(held_index, held[i].key, HASH_REMOVE, NULL);
	nheld = Min(nheld, first);
}

/* How many keys this transaction holds. */
int
tr_held_count(void)
{
	return nheld;
}

/* Whether this transaction took any key (there is something to clear). */
bool
tr_held_any(void)
{
	return held != NULL;
}

/* Subtransaction sub committed: its keys now belong to parent. */
void
tr_held_to_parent(SubTransactionId sub, SubTransactionId parent)
{
	for (int i = 0; i < nheld; i++)
		if (held[i].subid == sub)
			held[i].subid = parent;
}

/*
 * The index of the first key taken in subtransaction sub or a later one
 * (keys are appended in order, so those keys are a tail); nheld if none.
 */
int
tr_held_first_of(SubTransactionId sub)
{
	for (int i = 0; i < nheld; i++)
		if (held[i].subid >= sub)
			return i;
	return nheld;
}

/*
 * Move the held keys from index first on to the owed keys (their release is
 * about to be sent); returns how many. Never raises.
 */
int
tr_held_owe_from(int first)
{
	int			n = Max(nheld - first, 0);

	for (int i = first; i < nheld; i++)
		tr_owed_add(held[i].key, held[i].token);
	held_truncate(first);
	return n;
}

/* Forget every held key (top-level transaction end). */
void
tr_held_clear(void)
{
	held = NULL;
	held_index = NULL;
	nheld = maxheld = 0;
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
 * transaction end. Every release passes through here until it is answered;
 * those not sent are bounded by TR_REDIS_OWED_MAX keys (tr_owed_trim).
 */
typedef struct TrOwedKey
{
	char	   *key;			/* "key\0token" */
	uint64		sent;			/* the release carrying it; 0: not sent yet */
} TrOwedKey;

static TrOwedKey *owed = NULL;
static int	nowed = 0;
static int	maxowed = 0;
static int	owed_dropped = 0;	/* dropped since the last tr_owed_trim */

/* Owe the release of key, taken with token. Never raises. */
void
tr_owed_add(const char *key, const char *token)
{
	size_t		klen = strlen(key);
	char	   *copy;

	if (nowed == maxowed)
	{
		int			want = Max(64, maxowed * 2);
		TrOwedKey  *grown = realloc(owed, sizeof(TrOwedKey) * want);

		if (grown == NULL)
		{
			owed_dropped++;
			return;
		}
		owed = grown;
		maxowed = want;
	}
	if ((copy = malloc(klen + TR_REDIS_TOKEN_LEN + 2)) == NULL)
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
 * Keep at most TR_REDIS_OWED_MAX owed keys that are not sent, dropping the
 * oldest, and WARN about every key dropped since the last call (never
 * silent: they expire by TTL). Call after adding (and sending) owed keys.
 */
void
tr_owed_trim(void)
{
	int			excess = tr_owed_unsent() - TR_REDIS_OWED_MAX;
	int			n = 0;

	for (int i = 0; i < nowed; i++)
	{
		if (excess > 0 && owed[i].sent == 0)
		{
			free(owed[i].key);
			excess--;
			owed_dropped++;
		}
		else
			owed[n++] = owed[i];
	}
	nowed = n;
	if (owed_dropped == 0)
		return;
	tr_metrics_redis(TR_REDIS_RELEASE_ERROR, -1);
	ereport(WARNING,
			(errmsg("ticketres: %d Redis seat lock release%s dropped: this backend owed more than %d",
					owed_dropped, owed_dropped == 1 ? "" : "s", TR_REDIS_OWED_MAX),
			 errhint("The keys expire by themselves after ticketres.redis_lock_ttl.")));
	owed_dropped = 0;
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
