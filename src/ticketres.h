/*
 * ticketres.h — shared declarations of the ticketres C modules.
 *
 * Each module owns one concern:
 *   ticketres.c  module magic, _PG_init, GUCs
 *   spi_util.c   saved SPI plans (one enum, one table of schema-qualified SQL)
 *   args.c       argument checking: seat id arrays, holds, keys, limits
 *   identity.c   who the caller is (user_id argument vs. PostgREST JWT sub)
 *   locks.c      transaction-scoped advisory locks on seats and idempotency keys
 *   counts.c     the striped exact availability counter (seats and GA areas)
 *   inventory.c  SQL helpers of general admission and best available
 *   best.c       best available: the seat search, tr_reserve_best
 *   ga.c         general admission: tr_reserve_ga
 *   reserve.c    tr_reserve: the seat guard, idempotency, lazy expiry
 *   lifecycle.c  tr_confirm, tr_cancel, tr_expire
 *   seatgen.c    tr_generate_seats' bulk path: seats formed in C
 *   metrics.c    shared-memory counters and histograms for tr_metrics()
 *   eventlog.c   one structured LOG line per state change (log_events)
 *   redis_*.c    optional Redis seat locks through hiredis (redis_url):
 *                redis_url.c the URL, redis_conn.c the connection,
 *                redis_held.c the keys held, redis_xact.c release at
 *                transaction end, redis_lock.c acquire and release
 *                (private declarations in redis_int.h)
 */
#ifndef TICKETRES_H
#define TICKETRES_H

#include "postgres.h"
#include "fmgr.h"
#include "executor/spi.h"
#include "utils/timestamp.h"
#include "portability/instr_time.h"
#include "utils/uuid.h"
#include "utils/guc.h"

/* the C library's own version, reported by tr_health() */
#define TR_LIBRARY_VERSION		"0.2"

/* hard bounds on arguments (22023 beyond them) */
#define TR_MAX_SEATS_PER_CALL	1000	/* events may allow at most this many */
#define TR_MAX_USER_ID_LEN		200
#define TR_MAX_KEY_LEN			200
#define TR_MIN_HOLD_USECS		USECS_PER_SEC
#define TR_MAX_HOLD_USECS		USECS_PER_DAY
#define TR_EXPIRE_MAX_ROWS		1000000
#define TR_EXPIRE_BATCH			1000
#define TR_RETRY_GRACE_MS		20		/* a retry's wait for its original's seat locks */
#define TR_RES_ID_EVENT_BYTES	4		/* reservation ids end with these of the event id */

/* ---- spi_util.c ---- */
typedef enum TrPlanId
{
	TP_RES_BY_KEY,
	TP_EVENT_FOR_RESERVE,
	TP_TAKE_SEATS,
	TP_INSERT_RES,
	TP_COUNT_ADD,
	TP_COUNT_ADD_NEW,
	TP_COUNT_FOLD,
	TP_LOCK_OVERDUE,
	TP_EXPIRE_BY_IDS,
	TP_SEAT_DIAG,
	TP_RES_BY_ID,
	TP_CONFIRM_RES,
	TP_CONFIRM_SEATS,
	TP_CANCEL_RES,
	TP_RELEASE_SEATS,
	TP_EXPIRE_CANDIDATES,
	TP_AVAILABLE,
	/* 0.2 (general admission): chosen when tr_has_ga() */
	TP_RES_BY_KEY_GA,
	TP_INSERT_RES_GA,
	TP_RES_BY_ID_GA,
	TP_EXPIRE_BY_IDS_GA,
	TP_GA_ADD,
	TP_GA_ADD_FREE,
	TP_GA_ADD_NEW,
	/* 0.2 (best available, best.c) */
	TP_BEST_STREAM,
	TP_BEST_SINGLES,
	TP_BEST_ROW,
	TP_BEST_STILL_FREE,
	TP_BEST_EVENT,
	/* 0.2 (general admission, ga.c) */
	TP_GA_AREA,
	TP_GA_TAKE_OWN,
	TP_GA_TAKE_FREE,
	TP_GA_TAKE_FREE_LOW,
	TP_INSERT_RES_AREA,
	TP__COUNT
} TrPlanId;

extern uint64 tr_exec(TrPlanId id, Datum *values, const char *nulls, int expected_rc);
extern Datum tr_getdatum(int row, int col, bool *isnull);
extern Portal tr_cursor_open(TrPlanId id, Datum *values, const char *nulls);
extern Datum tr_result_row(FunctionCallInfo fcinfo, MemoryContext outer, int row);

/* ---- args.c ---- */
typedef struct TrSeatList
{
	int			n;
	pg_uuid_t  *ids;			/* sorted, distinct */
} TrSeatList;

extern void tr_check_not_null(FunctionCallInfo fcinfo, int argno, const char *name);
extern TrSeatList tr_seat_list_arg(FunctionCallInfo fcinfo, int argno);
extern TrSeatList tr_seat_list_datum(Datum arr);
extern Datum tr_seat_list_array(const TrSeatList *seats);
extern int64 tr_hold_usecs(const Interval *hold);
extern char *tr_text_arg(FunctionCallInfo fcinfo, int argno, const char *name, int maxlen);
extern char *tr_uuid_str(const pg_uuid_t *u);
extern char *tr_uuid_list_str(const pg_uuid_t *ids, int n);

/* ---- identity.c ---- */
extern char *tr_caller(FunctionCallInfo fcinfo, int argno);

/* ---- locks.c ---- */
extern void tr_seat_lock_keys(const pg_uuid_t *seat, uint32 *k1, uint32 *k2);
extern int	tr_try_lock_seats(const TrSeatList *seats);
extern void tr_unlock_seats(const TrSeatList *seats, int nlocked);
extern bool tr_try_lock_event(const pg_uuid_t *event);
extern bool tr_try_lock_stripe(const pg_uuid_t *event, int stripe);
extern void tr_lock_seats_or_busy(const pg_uuid_t *event, const TrSeatList *seats,
								  const char *hint, int grace);
extern bool tr_lock_idempotency_key(const char *user_id, const char *key);

/* ---- counts.c ---- */
extern int	tr_count_stripe(void);
extern void tr_count_add(Datum event_id, int64 delta);
extern int64 tr_count_fold(int max_rows);
extern void tr_count_add_overflow(Datum event_id, int64 delta);
extern void tr_ga_add(Datum area_id, int64 delta);
extern bool tr_has_ga(void);

/* ---- reserve.c ---- */
extern void tr_new_uuid(pg_uuid_t *u, const pg_uuid_t *event);
extern void tr_uuid7_head(pg_uuid_t *u);
extern void tr_reserve_begin(const pg_uuid_t *event);
extern bool tr_replay_same(const char *user, const char *key, TimestampTz now,
						   const char *match_sql, int nargs, Oid *types, Datum *values,
						   const char *nulls);
extern int64 tr_check_event(const pg_uuid_t *event, int nseats, TimestampTz now, int64 hold_usecs);
extern int	tr_take_seats(Datum seat_arr, const pg_uuid_t *event, const pg_uuid_t *res_id,
						  TimestampTz now, int64 *total);
extern void tr_insert_reservation(const pg_uuid_t *res_id, const pg_uuid_t *event,
								  const char *user, Datum seat_arr, const char *key,
								  int64 total, TimestampTz now, int64 hold_usecs);

/* ---- lifecycle.c (shared with reserve.c) ---- */
extern int	tr_expire_lock_budget;
extern int64 tr_expire_ids(Datum ids, TimestampTz now, bool lazy);

/* ---- metrics.c ---- */
typedef enum TrReserveOutcome
{
	TR_RES_CREATED,
	TR_RES_REPLAY,
	TR_RES_CONFLICT,
	TR_RES_BUSY,
	TR_RES_ERROR,
	TR_RES__COUNT
} TrReserveOutcome;

typedef enum TrRedisOutcome	/* the acquire outcomes come first */
{
	TR_REDIS_ACQUIRED,
	TR_REDIS_BUSY,
	TR_REDIS_ERROR,
	TR_REDIS_RELEASED,
	TR_REDIS_RELEASE_ERROR,
	TR_REDIS__COUNT
} TrRedisOutcome;

typedef enum TrCounter
{
	TRC_CONFIRMED,
	TRC_CANCELLED,
	TRC_EXPIRED_SWEEP,			/* these two stay adjacent: */
	TRC_EXPIRED_LAZY,			/* one labelled family */
	TRC__COUNT
} TrCounter;

extern void tr_metrics_init(void);
extern bool tr_metrics_preloaded(void);
extern int64 tr_usecs_since(instr_time start);
extern void tr_metrics_reserve(int outcome, int64 usecs);
extern void tr_metrics_count(TrCounter c, int64 n);
extern void tr_metrics_redis(int outcome, int64 usecs);

/* ---- eventlog.c ---- */
typedef struct TrLogEvent
{
	const char *action;			/* reserve, confirm, cancel, expire, block, ... */
	const char *outcome;
	const pg_uuid_t *event;		/* NULL, 0 and -1: field left out */
	const pg_uuid_t *reservation;
	const char *user;
	const char *actor;
	int			seats;
	int64		usecs;
	const char *reason;
} TrLogEvent;

extern bool tr_log_events;
extern void tr_log_change(const TrLogEvent *e);

/* ---- redis_*.c ---- */
typedef enum TrRedisOnError
{
	TR_REDIS_ON_ERROR_ALLOW,
	TR_REDIS_ON_ERROR_DENY
} TrRedisOnError;

extern char *tr_redis_url;
extern char *tr_redis_password_file;
extern char *tr_redis_key_prefix;
extern int	tr_redis_connect_timeout_ms;
extern int	tr_redis_timeout_ms;
extern int	tr_redis_lock_ttl_ms;
extern int	tr_redis_retry_interval_ms;
extern int	tr_redis_on_error;

extern bool tr_redis_url_check(char **newval, void **extra, GucSource source);
extern bool tr_redis_prefix_check(char **newval, void **extra, GucSource source);
extern void tr_redis_init(void);
extern bool tr_redis_enabled(void);
extern char *tr_redis_seat_key(const pg_uuid_t *event, const pg_uuid_t *seat);
extern int	tr_redis_lock_seats(const pg_uuid_t *event, const TrSeatList *seats);
extern void tr_redis_lock_groups(const pg_uuid_t *const *events, const TrSeatList *lists,
								 int ngroups, int *busy);
extern int	tr_redis_mark(void);
extern void tr_redis_release_since(int mark);
extern void tr_redis_busy_error(const pg_uuid_t *seat);

#endif
