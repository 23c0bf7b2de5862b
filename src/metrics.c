/*
 * metrics.c — cluster-wide counters for tr_metrics().
 *
 * When ticketres is in shared_preload_libraries, one small struct of
 * pg_atomic_uint64 counters lives in shared memory (PG15 shmem_request_hook +
 * shmem_startup_hook): reservations by outcome, confirmations, cancellations,
 * expirations (sweep / lazy), Redis lock outcomes, and latency histograms of
 * tr_reserve and of Redis lock calls. Every backend adds to it without locks.
 * Without preloading the pointer stays NULL, every tr_metrics_* call is a
 * no-op and ticketres._metrics_shared() says "ticketres_preloaded 0".
 *
 * Counters count calls as they return: a call whose surrounding transaction
 * later rolls back is still counted (as Prometheus counters usually are).
 */
#include "ticketres.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"

/* histogram bucket bounds in microseconds, and as Prometheus "le" labels */
#define TR_HIST_BUCKETS 12
static const int64 tr_bucket_usecs[TR_HIST_BUCKETS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000
};
static const char *const tr_bucket_le[TR_HIST_BUCKETS] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
	"1", "2.5"
};

typedef struct TrHist
{
	pg_atomic_uint64 bucket[TR_HIST_BUCKETS];	/* not cumulative; +Inf is count */
	pg_atomic_uint64 count;
	pg_atomic_uint64 sum_usecs;
} TrHist;

typedef struct TrShared
{
	pg_atomic_uint64 reserve[TR_RES__COUNT];
	pg_atomic_uint64 counter[TRC__COUNT];
	pg_atomic_uint64 redis[TR_REDIS__COUNT];
	TrHist		reserve_latency;
	TrHist		redis_latency;
} TrShared;

static const char *const reserve_outcome_names[TR_RES__COUNT] = {
	"created", "replay", "conflict", "busy", "error"
};
static const char *const redis_outcome_names[TR_REDIS__COUNT] = {
	"acquired", "busy", "error", "released", "release_error"
};

static TrShared *tr_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
tr_metrics_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(TrShared)));
}

/* Attach to (the postmaster: create and zero) the shared counters. */
static void
tr_metrics_shmem_startup(void)
{
	bool		found;
	pg_atomic_uint64 *all;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	tr_shared = ShmemInitStruct("ticketres metrics", sizeof(TrShared), &found);
	if (!found)
	{
		/* the struct is nothing but pg_atomic_uint64 members */
		all = (pg_atomic_uint64 *) tr_shared;
		for (size_t i = 0; i < sizeof(TrShared) / sizeof(pg_atomic_uint64); i++)
			pg_atomic_init_u64(&all[i], 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Called from _PG_init: ask for shared memory when being preloaded. */
void
tr_metrics_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = tr_metrics_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = tr_metrics_shmem_startup;
}

bool
tr_metrics_preloaded(void)
{
	return tr_shared != NULL;
}

/* Microseconds since start (a monotonic clock). */
int64
tr_usecs_since(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return (int64) INSTR_TIME_GET_MICROSEC(now);
}

static void
hist_add(TrHist *h, int64 usecs)
{
	int			i = 0;

	if (usecs < 0)
		usecs = 0;
	while (i < TR_HIST_BUCKETS && usecs > tr_bucket_usecs[i])
		i++;
	if (i < TR_HIST_BUCKETS)
		pg_atomic_fetch_add_u64(&h->bucket[i], 1);
	pg_atomic_fetch_add_u64(&h->count, 1);
	pg_atomic_fetch_add_u64(&h->sum_usecs, (uint64) usecs);
}

/* One tr_reserve call ended with outcome (TrReserveOutcome) after usecs. */
void
tr_metrics_reserve(int outcome, int64 usecs)
{
	if (tr_shared == NULL || outcome < 0 || outcome >= TR_RES__COUNT)
		return;
	pg_atomic_fetch_add_u64(&tr_shared->reserve[outcome], 1);
	hist_add(&tr_shared->reserve_latency, usecs);
}

/* Add n to a plain counter (TrCounter). */
void
tr_metrics_count(TrCounter c, int64 n)
{
	if (tr_shared == NULL || n <= 0)
		return;
	pg_atomic_fetch_add_u64(&tr_shared->counter[c], (uint64) n);
}

/*
 * One Redis round trip ended with outcome (TrRedisOutcome) after usecs; for
 * the Redis module. Only acquire attempts (acquired, busy, error) feed the
 * latency histogram, and not when usecs < 0.
 */
void
tr_metrics_redis(int outcome, int64 usecs)
{
	if (tr_shared == NULL || outcome < 0 || outcome >= TR_REDIS__COUNT)
		return;
	pg_atomic_fetch_add_u64(&tr_shared->redis[outcome], 1);
	if (usecs >= 0 && outcome <= TR_REDIS_ERROR)
		hist_add(&tr_shared->redis_latency, usecs);
}

/* ---- exposition ---- */

static void
family(StringInfo out, const char *name, const char *type, const char *help)
{
	appendStringInfo(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
sample(StringInfo out, const char *name, const char *labels, uint64 v)
{
	appendStringInfo(out, "%s%s %llu\n", name, labels, (unsigned long long) v);
}

static void
labelled(StringInfo out, const char *name, const char *label, const char *const *values,
		 pg_atomic_uint64 *counters, int n)
{
	for (int i = 0; i < n; i++)
		appendStringInfo(out, "%s{%s=\"%s\"} %llu\n", name, label, values[i],
						 (unsigned long long) pg_atomic_read_u64(&counters[i]));
}

static void
histogram(StringInfo out, const char *name, const char *help, TrHist *h)
{
	uint64		cum = 0;
	uint64		count = pg_atomic_read_u64(&h->count);

	family(out, name, "histogram", help);
	for (int i = 0; i < TR_HIST_BUCKETS; i++)
	{
		cum += pg_atomic_read_u64(&h->bucket[i]);
		appendStringInfo(out, "%s_bucket{le=\"%s\"} %llu\n", name, tr_bucket_le[i],
						 (unsigned long long) cum);
	}
	appendStringInfo(out, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long) count);
	appendStringInfo(out, "%s_sum %.6f\n", name,
					 (double) pg_atomic_read_u64(&h->sum_usecs) / 1000000.0);
	sample(out, name, "_count", count);
}

/* The counter families, from shared memory. */
static void
counters_text(StringInfo out)
{
	static const char *const expired_by[2] = {"sweep", "lazy"};

	family(out, "ticketres_reservations_total", "counter",
		   "tr_reserve calls by outcome (created, replay of an idempotency key, conflict, busy, error).");
	labelled(out, "ticketres_reservations_total", "outcome", reserve_outcome_names,
			 tr_shared->reserve, TR_RES__COUNT);
	family(out, "ticketres_confirmations_total", "counter", "Reservations confirmed by tr_confirm.");
	sample(out, "ticketres_confirmations_total", "",
		   pg_atomic_read_u64(&tr_shared->counter[TRC_CONFIRMED]));
	family(out, "ticketres_cancellations_total", "counter",
		   "Reservations cancelled by tr_cancel (admin releases are in ticketres.audit_log).");
	sample(out, "ticketres_cancellations_total", "",
		   pg_atomic_read_u64(&tr_shared->counter[TRC_CANCELLED]));
	family(out, "ticketres_expirations_total", "counter",
		   "Holds expired, by tr_expire (sweep) or by a tr_reserve that needed their seats (lazy).");
	labelled(out, "ticketres_expirations_total", "by", expired_by,
			 &tr_shared->counter[TRC_EXPIRED_SWEEP], 2);
	family(out, "ticketres_redis_lock_total", "counter",
		   "Redis seat lock calls by outcome (acquired, busy, error, released, release_error).");
	labelled(out, "ticketres_redis_lock_total", "outcome", redis_outcome_names,
			 tr_shared->redis, TR_REDIS__COUNT);
	histogram(out, "ticketres_redis_lock_duration_seconds",
			  "Time of one Redis lock acquire round trip.", &tr_shared->redis_latency);
	histogram(out, "ticketres_reserve_duration_seconds",
			  "Time of one tr_reserve call, whatever its outcome.", &tr_shared->reserve_latency);
}

PG_FUNCTION_INFO_V1(tr_metrics_shared);

/* ticketres._metrics_shared() returns text: the shared-memory part of tr_metrics(). */
Datum
tr_metrics_shared(PG_FUNCTION_ARGS)
{
	StringInfoData out;

	initStringInfo(&out);
	family(&out, "ticketres_preloaded", "gauge",
		   "1 when ticketres is in shared_preload_libraries (the counters are live), else 0.");
	sample(&out, "ticketres_preloaded", "", tr_shared != NULL ? 1 : 0);
	if (tr_shared != NULL)
		counters_text(&out);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}

PG_FUNCTION_INFO_V1(tr_library_info);

/* ticketres._library(OUT version text, OUT preloaded bool): for tr_health(). */
Datum
tr_library_info(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "ticketres: _library must return a record");
	values[0] = CStringGetTextDatum(TR_LIBRARY_VERSION);
	values[1] = BoolGetDatum(tr_shared != NULL);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
