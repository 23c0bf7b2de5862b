/*
 * ticketres.c — module magic, _PG_init and settings.
 *
 * The reservation core needs no preloading: every entry point prepares its
 * statements on first use (spi_util.c). Preloading (shared_preload_libraries)
 * adds the cluster-wide counters of tr_metrics() (metrics.c). Settings live
 * under "ticketres.".
 */
#include "ticketres.h"

#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static const struct config_enum_entry on_error_options[] = {
	{"allow", TR_REDIS_ON_ERROR_ALLOW, false},
	{"deny", TR_REDIS_ON_ERROR_DENY, false},
	{NULL, 0, false}
};

/* The settings of the Redis lock layer (redis.c); all superuser-only. */
static void
define_redis_settings(void)
{
	DefineCustomStringVariable("ticketres.redis_url",
							   "Redis for seat locks: redis://[user@]host[:port][/db] or unix://[user@]/path[?db=N], no password.",
							   "Empty (the default) turns Redis locks off. Shown only to superusers.",
							   &tr_redis_url, "", PGC_SUSET, GUC_SUPERUSER_ONLY,
							   tr_redis_url_check, NULL, NULL);
	DefineCustomStringVariable("ticketres.redis_password_file",
							   "File whose first line is the Redis password, read at connect.",
							   "Empty (the default): no AUTH. Must not be accessible by group or "
							   "others (0600). Shown only to superusers.",
							   &tr_redis_password_file, "", PGC_SUSET, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("ticketres.redis_key_prefix",
							   "First part of every Redis seat key: <prefix>:<event_id>:<seat_id>.",
							   "1 to 64 bytes, no spaces.",
							   &tr_redis_key_prefix, "ticketres", PGC_SUSET, 0,
							   tr_redis_prefix_check, NULL, NULL);
	DefineCustomIntVariable("ticketres.redis_connect_timeout",
							"Longest wait for a connection to Redis.",
							"1 ms to 60 s.",
							&tr_redis_connect_timeout_ms, 200, 1, 60000, PGC_SUSET,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("ticketres.redis_timeout",
							"Longest wait for one Redis command.",
							"1 ms to 60 s.",
							&tr_redis_timeout_ms, 200, 1, 60000, PGC_SUSET,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("ticketres.redis_lock_ttl",
							"Lifetime of a Redis seat key if its transaction never releases it.",
							"100 ms to 1 hour; keys are released at transaction end.",
							&tr_redis_lock_ttl_ms, 10000, 100, 3600000, PGC_SUSET,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("ticketres.redis_retry_interval",
							"After a Redis failure, how long a backend goes without trying again.",
							"0 (retry on every call) to 60 s.",
							&tr_redis_retry_interval_ms, 1000, 0, 60000, PGC_SUSET,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomEnumVariable("ticketres.redis_on_error",
							 "What a call does when Redis cannot be used: allow or deny.",
							 "allow: go on with the database guards alone (WARNING); "
							 "deny: refuse with PT503 lock service unavailable.",
							 &tr_redis_on_error, TR_REDIS_ON_ERROR_ALLOW, on_error_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
}

void
_PG_init(void)
{
	DefineCustomBoolVariable("ticketres.log_events",
							 "Log one line per reservation state change.",
							 "key=value fields: action, outcome, event, reservation, user, "
							 "seats, duration_ms (see doc/operations.md).",
							 &tr_log_events, false, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ticketres.expire_lock_budget",
							"Most seat locks tr_expire holds at once.",
							"1 to 1000000; one hold with more seats is still expired whole. "
							"The shared lock table holds max_locks_per_transaction x "
							"(max_connections + max_prepared_transactions) locks.",
							&tr_expire_lock_budget, 256, 1, 1000000, PGC_SUSET, 0,
							NULL, NULL, NULL);
	define_redis_settings();
	MarkGUCPrefixReserved("ticketres");
	tr_metrics_init();
	tr_redis_init();
}
