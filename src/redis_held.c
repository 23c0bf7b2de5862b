/*
 * redis_held.c — the Redis keys this transaction holds.
 *
 * In the order taken, each with the token of the call that took it (one
 * random 128-bit token per call) and the subtransaction that took it, plus
 * a hash of the keys for "do we hold it already" (keys are reentrant within
 * a transaction). Everything lives in one memory context under
 * TopMemoryContext, reset at top-level transaction end.
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
