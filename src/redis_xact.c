/*
 * redis_xact.c — Redis keys are released at the end of the (sub)transaction
 * that took them, commit and rollback alike: the transaction callbacks.
 *
 * A prepared transaction releases its keys too: it keeps its row and
 * advisory locks, which are the guard. Callers that take keys for a moment
 * only (an expiry batch) release them early with tr_redis_mark and
 * tr_redis_release_since.
 */
#include "redis_int.h"

#include "access/xact.h"

/* Release the keys taken since mark (tr_redis_mark) before transaction end. */
void
tr_redis_release_since(int mark)
{
	tr_redis_release_held(Min(mark, tr_held_count()));
}

/* How many keys this transaction holds: a mark for tr_redis_release_since. */
int
tr_redis_mark(void)
{
	return tr_held_count();
}

/* Top-level transaction end: release every key, forget them all. */
static void
redis_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction keeps its row and advisory locks */
			if (!tr_held_any())
				break;
			tr_redis_release_held(0);
			tr_held_clear();
			break;
		default:
			break;
	}
}

/*
 * Subtransaction end: a commit hands its keys to the parent, an abort
 * releases those taken since it began.
 */
static void
redis_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_COMMIT_SUB)
		tr_held_to_parent(mySubid, parentSubid);
	else if (event == SUBXACT_EVENT_ABORT_SUB)
		tr_redis_release_held(tr_held_first_of(mySubid));
}

/* Register the callbacks (once, from _PG_init). */
void
tr_redis_init(void)
{
	RegisterXactCallback(redis_xact_callback, NULL);
	RegisterSubXactCallback(redis_subxact_callback, NULL);
}
