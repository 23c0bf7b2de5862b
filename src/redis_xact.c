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
	tr_redis_release_held(Min(mark, tr_nheld));
}

/* How many keys this transaction holds: a mark for tr_redis_release_since. */
int
tr_redis_mark(void)
{
	return tr_nheld;
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
			if (tr_held == NULL)
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
	int			first = tr_nheld;

	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (int i = 0; i < tr_nheld; i++)
			if (tr_held[i].subid == mySubid)
				tr_held[i].subid = parentSubid;
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		/* keys are appended in order, so the aborted part is a tail */
		for (int i = 0; i < tr_nheld; i++)
			if (tr_held[i].subid >= mySubid)
			{
				first = i;
				break;
			}
		tr_redis_release_held(first);
	}
}

/* Register the callbacks (once, from _PG_init). */
void
tr_redis_init(void)
{
	RegisterXactCallback(redis_xact_callback, NULL);
	RegisterSubXactCallback(redis_subxact_callback, NULL);
}
