/*
 * redis.c — the optional Redis lock layer (ticketres.redis_url).
 *
 * When a URL is set, every call that moves seats (reserve, confirm, cancel,
 * expiry, the admin controls) also takes one Redis key per seat,
 *     <redis_key_prefix>:<event_id>:<seat_id>
 * all of a call's keys in one round trip and all or nothing (a Lua script
 * doing SET NX PX for every key, or nothing), valued with a random token per
 * call. A key someone else holds is "seat busy". Keys are released at the
 * end of the (sub)transaction that took them, commit and rollback alike, by
 * compare-and-delete (only our token), again in one round trip; the TTL
 * cleans up whatever a release could not.
 *
 * Redis is an early, cross-process filter only: a lease can lapse while its
 * holder still works, so correctness rests on the row guard (reserve.c).
 * That is why a Redis that is down may be skipped (redis_on_error = allow).
 *
 * One lazy connection per backend, bounded by the connect and command
 * timeouts, dropped after any failure and retried after redis_retry_interval.
 * hiredis memory is malloc'ed: every reply is freed, and its text copied,
 * before anything is reported.
 */
#include "ticketres.h"

#include <sys/time.h>
#include <hiredis/hiredis.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/sha1.h"
#include "errors.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#define TR_REDIS_KEY_PREFIX_MAX 64
#define TR_REDIS_TOKEN_LEN		32	/* hex digits of 16 random bytes */
#define TR_REDIS_WARN_EVERY		(10 * USECS_PER_SEC)

/* ---- settings (defined in ticketres.c) ---- */
char	   *tr_redis_url = NULL;
char	   *tr_redis_key_prefix = NULL;
int			tr_redis_connect_timeout_ms = 200;
int			tr_redis_timeout_ms = 200;
int			tr_redis_lock_ttl_ms = 10000;
int			tr_redis_retry_interval_ms = 1000;
int			tr_redis_on_error = TR_REDIS_ON_ERROR_ALLOW;

/* Where the URL points. */
typedef struct TrRedisTarget
{
	char		host[256];
	int			port;
	int			db;
	char		user[128];
	char		password[256];
	bool		has_password;
} TrRedisTarget;

/*
 * A Lua script, loaded with SCRIPT LOAD on every new connection (its SHA1 is
 * the name Redis answers with) and called by EVALSHA; an acquire falls back
 * to EVAL on NOSCRIPT.
 */
typedef struct TrScript
{
	const char *body;
	char		sha[SHA1_DIGEST_LENGTH * 2 + 1];
} TrScript;

/*
 * ACQUIRE: KEYS are the keys of one or more groups (ARGV[3..] are the group
 * sizes), ARGV[1] the token, ARGV[2] the TTL in ms. Each group is taken
 * whole or not at all; returns per group 0 (taken) or the 1-based position
 * in the group of the first key someone holds.
 */
static TrScript acquire_script = {
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
static TrScript release_script = {
	"local n = 0\n"
	"for i = 1, #KEYS do\n"
	"  if redis.pcall('GET', KEYS[i]) == ARGV[i] then redis.call('DEL', KEYS[i]) n = n + 1 end\n"
	"end\n"
	"return n\n",
	{0}
};

/* A key this transaction holds. */
typedef struct TrHeldKey
{
	char	   *key;
	const char *token;			/* points into the held-key context */
	SubTransactionId subid;
} TrHeldKey;

static redisContext *conn = NULL;
static char *conn_url = NULL;	/* malloc'ed copy of the URL conn was made for */
static int	conn_timeout_ms = -1;	/* the command timeout conn has */
static int	pending_replies = 0;	/* releases sent whose answers are unread */
static bool scripts_loaded = false; /* SCRIPT LOAD done on conn */
static bool exit_hook_set = false;
static TimestampTz retry_after = 0; /* no attempt before this after a failure */
static TimestampTz last_warning = 0;

/* for the lookup of keys already held: key -> nothing */
#define TR_REDIS_KEY_MAX (TR_REDIS_KEY_PREFIX_MAX + 2 * (UUID_LEN * 2 + 4) + 3)
typedef struct TrHeldEntry
{
	char		key[TR_REDIS_KEY_MAX];
} TrHeldEntry;

static MemoryContext held_cxt = NULL;	/* reset at top-level transaction end */
static TrHeldKey *held = NULL;	/* in the order taken */
static HTAB *held_index = NULL;
static int	nheld = 0;
static int	maxheld = 0;

/* ---------------------------------------------------------------- URL */

/* Decode %XX escapes of src[0..len) into dst (size dstlen); false if bad. */
static bool
url_decode(const char *src, size_t len, char *dst, size_t dstlen)
{
	size_t		o = 0;

	for (size_t i = 0; i < len; i++)
	{
		char		c = src[i];

		if (c == '%')
		{
			char		hex[3] = {0};

			if (i + 2 >= len || !isxdigit((unsigned char) src[i + 1]) ||
				!isxdigit((unsigned char) src[i + 2]))
				return false;
			hex[0] = src[i + 1];
			hex[1] = src[i + 2];
			c = (char) strtol(hex, NULL, 16);
			i += 2;
		}
		if (c == '\0' || o + 1 >= dstlen)
			return false;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return true;
}

/* Parse a non-negative decimal of s[0..len) no larger than max; -1 if bad. */
static int
parse_uint(const char *s, size_t len, int max)
{
	long		v = 0;

	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++)
	{
		if (!isdigit((unsigned char) s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v > max ? -1 : (int) v;
}

/*
 * Parse redis://[[user]:password@]host[:port][/db] into *t. On failure sets
 * *why to a message that never quotes the URL (it may hold a password).
 */
static bool
parse_url(const char *url, TrRedisTarget *t, const char **why)
{
	const char *p,
			   *at,
			   *slash,
			   *hend,
			   *colon;

	memset(t, 0, sizeof(*t));
	t->port = 6379;
	if (strncmp(url, "redis://", 8) != 0)
		return (*why = "it must start with redis://", false);
	p = url + 8;
	at = strrchr(p, '@');
	if (at != NULL)
	{
		colon = memchr(p, ':', at - p);
		if (colon == NULL)
			return (*why = "the part before @ must be user:password or :password", false);
		if (!url_decode(p, colon - p, t->user, sizeof(t->user)) ||
			!url_decode(colon + 1, at - colon - 1, t->password, sizeof(t->password)))
			return (*why = "the user or password is too long or badly escaped", false);
		t->has_password = true;
		p = at + 1;
	}
	slash = strchr(p, '/');
	hend = slash ? slash : p + strlen(p);
	if (*p == '[')
	{
		const char *close = memchr(p, ']', hend - p);

		if (close == NULL || close == p + 1 || (size_t) (close - p - 1) >= sizeof(t->host))
			return (*why = "the IPv6 host must be in [brackets]", false);
		memcpy(t->host, p + 1, close - p - 1);
		colon = close + 1 < hend && close[1] == ':' ? close + 1 : NULL;
		if (close + 1 < hend && colon == NULL)
			return (*why = "a port must follow the IPv6 host after a colon", false);
	}
	else
	{
		colon = memchr(p, ':', hend - p);
		if ((colon ? colon : hend) == p || (size_t) ((colon ? colon : hend) - p) >= sizeof(t->host))
			return (*why = "it names no host", false);
		memcpy(t->host, p, (colon ? colon : hend) - p);
	}
	if (colon != NULL && (t->port = parse_uint(colon + 1, hend - colon - 1, 65535)) < 1)
		return (*why = "the port must be a number from 1 to 65535", false);
	if (slash != NULL && slash[1] != '\0' &&
		(t->db = parse_uint(slash + 1, strlen(slash + 1), 1000000)) < 0)
		return (*why = "the database must be a number", false);
	return true;
}

/* GUC check hook of ticketres.redis_url: the value is never echoed. */
bool
tr_redis_url_check(char **newval, void **extra, GucSource source)
{
	TrRedisTarget t;
	const char *why;

	if (*newval == NULL || (*newval)[0] == '\0' || parse_url(*newval, &t, &why))
		return true;
	GUC_check_errmsg("invalid ticketres.redis_url: %s", why);
	GUC_check_errdetail("Expected redis://[[user]:password@]host[:port][/db]; empty turns Redis locks off.");
	return false;
}

/* GUC check hook of ticketres.redis_key_prefix. */
bool
tr_redis_prefix_check(char **newval, void **extra, GucSource source)
{
	size_t		len = *newval ? strlen(*newval) : 0;

	if (len < 1 || len > TR_REDIS_KEY_PREFIX_MAX)
	{
		GUC_check_errmsg("ticketres.redis_key_prefix must be 1 to %d bytes", TR_REDIS_KEY_PREFIX_MAX);
		return false;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char) (*newval)[i] <= ' ')
		{
			GUC_check_errmsg("ticketres.redis_key_prefix must not contain spaces or control characters");
			return false;
		}
	return true;
}

bool
tr_redis_enabled(void)
{
	return tr_redis_url != NULL && tr_redis_url[0] != '\0';
}

/* ---------------------------------------------------------- connection */

static void
drop_connection(void)
{
	if (conn != NULL)
		redisFree(conn);
	conn = NULL;
	pending_replies = 0;
	scripts_loaded = false;
	if (conn_url != NULL)
		free(conn_url);
	conn_url = NULL;
}

static void
redis_at_exit(int code, Datum arg)
{
	drop_connection();
}

static struct timeval
ms_timeval(int ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

/* Copy what went wrong with the connection into err, then drop it. */
static void
fail_connection(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s%s%s", what,
			 conn != NULL && conn->errstr[0] ? ": " : "",
			 conn != NULL ? conn->errstr : "");
	drop_connection();
}

/*
 * Check a reply to a setup command: true when it is not an error. Frees it.
 */
static bool
setup_reply_ok(redisReply *r, char *err, size_t errlen, const char *what)
{
	bool		ok = r != NULL && r->type != REDIS_REPLY_ERROR;

	if (r == NULL)
		fail_connection(err, errlen, what);
	else if (!ok)
		snprintf(err, errlen, "%s: %.200s", what, r->str ? r->str : "error");
	if (r != NULL)
		freeReplyObject(r);
	if (!ok)
		drop_connection();
	return ok;
}

/*
 * The backend's connection, made (and authenticated, and its database
 * selected) on first use or after the URL changed. NULL with err filled
 * when Redis cannot be reached.
 */
static bool
set_timeout(char *err, size_t errlen)
{
	if (redisSetTimeout(conn, ms_timeval(tr_redis_timeout_ms)) != REDIS_OK)
	{
		fail_connection(err, errlen, "could not set the command timeout");
		return false;
	}
	conn_timeout_ms = tr_redis_timeout_ms;
	return true;
}

/* Connect to t (bounded), authenticate and select its database. */
static bool
open_connection(const TrRedisTarget *t, char *err, size_t errlen)
{
	conn = redisConnectWithTimeout(t->host, t->port, ms_timeval(tr_redis_connect_timeout_ms));
	if (conn == NULL || conn->err)
	{
		fail_connection(err, errlen, "could not connect");
		return false;
	}
	if (!set_timeout(err, errlen))
		return false;
	if (t->has_password)
	{
		const char *argv[3] = {"AUTH", t->user, t->password};
		size_t		lens[3] = {4, strlen(t->user), strlen(t->password)};
		int			skip = t->user[0] == '\0' ? 1 : 0;	/* AUTH password */

		argv[skip] = "AUTH";
		lens[skip] = 4;
		if (!setup_reply_ok(redisCommandArgv(conn, 3 - skip, argv + skip, lens + skip),
							err, errlen, "authentication failed"))
			return false;
	}
	if (t->db != 0 &&
		!setup_reply_ok(redisCommand(conn, "SELECT %d", t->db), err, errlen,
						"could not select the database"))
		return false;
	return true;
}

/*
 * Read the answers of the releases sent without waiting (release_from):
 * normally already there. A failed release is a WARNING (the TTL frees its
 * keys). False, with the connection dropped, when no answer comes.
 */
static bool
drain_replies(char *err, size_t errlen)
{
	while (pending_replies > 0)
	{
		void	   *v = NULL;
		redisReply *r;
		char		msg[256];

		if (redisGetReply(conn, &v) != REDIS_OK || v == NULL)
		{
			tr_metrics_redis(TR_REDIS_RELEASE_ERROR, -1);
			fail_connection(err, errlen, "no answer to an earlier release");
			return false;
		}
		pending_replies--;
		r = (redisReply *) v;
		if (r->type != REDIS_REPLY_ERROR)
		{
			freeReplyObject(r);
			tr_metrics_redis(TR_REDIS_RELEASED, -1);
			continue;
		}
		snprintf(msg, sizeof(msg), "%.200s", r->str ? r->str : "error");
		if (strncmp(msg, "NOSCRIPT", 8) == 0)
			scripts_loaded = false;
		freeReplyObject(r);
		tr_metrics_redis(TR_REDIS_RELEASE_ERROR, -1);
		ereport(WARNING,
				(errmsg("ticketres: an earlier release of Redis seat locks failed: %s", msg),
				 errhint("The keys expire by themselves after ticketres.redis_lock_ttl.")));
	}
	return true;
}

/*
 * SCRIPT LOAD both scripts (one round trip), so that a release can be sent
 * as EVALSHA without waiting for its answer.
 */
static bool
load_scripts(char *err, size_t errlen)
{
	TrScript   *scripts[2] = {&acquire_script, &release_script};

	for (int i = 0; i < 2; i++)
		if (redisAppendCommand(conn, "SCRIPT LOAD %s", scripts[i]->body) != REDIS_OK)
		{
			fail_connection(err, errlen, "could not send the lock scripts");
			return false;
		}
	for (int i = 0; i < 2; i++)
	{
		void	   *v = NULL;
		redisReply *r;
		bool		ok;

		if (redisGetReply(conn, &v) != REDIS_OK || v == NULL)
		{
			fail_connection(err, errlen, "no answer to SCRIPT LOAD");
			return false;
		}
		r = (redisReply *) v;
		/* Redis names the script by its SHA1; keep the first name it gave */
		ok = r->type == REDIS_REPLY_STRING && r->str != NULL &&
			r->len == sizeof(scripts[i]->sha) - 1 &&
			(scripts[i]->sha[0] == '\0' || strcmp(r->str, scripts[i]->sha) == 0);
		if (ok)
			memcpy(scripts[i]->sha, r->str, sizeof(scripts[i]->sha));
		if (!ok)
			snprintf(err, errlen, "SCRIPT LOAD answered %.100s",
					 r->type == REDIS_REPLY_ERROR && r->str ? r->str : "something else");
		freeReplyObject(r);
		if (!ok)
		{
			drop_connection();
			return false;
		}
	}
	scripts_loaded = true;
	return true;
}

/*
 * The backend's connection, made on first use or after the URL changed
 * (any_url: keep whatever connection there is). NULL with err filled when
 * Redis cannot be reached.
 */
static redisContext *
get_connection(bool any_url, char *err, size_t errlen)
{
	TrRedisTarget t;
	const char *why;
	bool		ok;

	if (conn != NULL && (any_url || (conn_url != NULL && strcmp(conn_url, tr_redis_url) == 0)))
	{
		/* any failure here drops the connection: the next try reconnects */
		if ((conn_timeout_ms == tr_redis_timeout_ms || set_timeout(err, errlen)) &&
			drain_replies(err, errlen) && (scripts_loaded || load_scripts(err, errlen)))
			return conn;
		return NULL;
	}
	drop_connection();
	if (!parse_url(tr_redis_url, &t, &why))
	{
		snprintf(err, errlen, "invalid ticketres.redis_url: %s", why);
		return NULL;
	}
	if (!exit_hook_set)
	{
		on_proc_exit(redis_at_exit, (Datum) 0);
		exit_hook_set = true;
	}
	ok = open_connection(&t, err, errlen) && load_scripts(err, errlen);
	explicit_bzero(&t, sizeof(t));	/* the password */
	if (ok && (conn_url = strdup(tr_redis_url)) == NULL)
	{
		drop_connection();
		snprintf(err, errlen, "out of memory");
		ok = false;
	}
	return ok ? conn : NULL;
}

/* ------------------------------------------------------------- scripts */

/*
 * Run a script whose argv[0..1] the caller left free: EVALSHA, then EVAL
 * when Redis does not know the script. Returns the reply (the caller frees
 * it), or NULL with err filled and the connection dropped. Never raises.
 */
static redisReply *
run_script(TrScript *s, int argc, const char **argv, size_t *lens, char *err, size_t errlen)
{
	redisContext *c = get_connection(false, err, errlen);
	redisReply *r;

	if (c == NULL)
		return NULL;
	argv[0] = "EVALSHA";
	lens[0] = 7;
	argv[1] = s->sha;
	lens[1] = strlen(s->sha);
	r = redisCommandArgv(c, argc, argv, lens);
	if (r != NULL && r->type == REDIS_REPLY_ERROR && r->str != NULL &&
		strncmp(r->str, "NOSCRIPT", 8) == 0)
	{
		freeReplyObject(r);
		argv[0] = "EVAL";
		lens[0] = 4;
		argv[1] = s->body;
		lens[1] = strlen(s->body);
		r = redisCommandArgv(c, argc, argv, lens);
	}
	if (r == NULL)
	{
		fail_connection(err, errlen, "no answer");
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR)
	{
		snprintf(err, errlen, "Redis answered: %.200s", r->str ? r->str : "error");
		freeReplyObject(r);
		drop_connection();
		return NULL;
	}
	return r;
}

/* ----------------------------------------------------------- held keys */

static void
held_reserve(int more)
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

static bool
held_has(const char *key)
{
	return held_index != NULL && hash_search(held_index, key, HASH_FIND, NULL) != NULL;
}

/* Book a key as held by the current subtransaction (space was reserved). */
static void
held_add(const char *key, const char *token)
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

/* Forget every held key (top-level transaction end). */
static void
held_clear(void)
{
	held = NULL;
	held_index = NULL;
	nheld = maxheld = 0;
	if (held_cxt != NULL)
		MemoryContextReset(held_cxt);
}

/*
 * Send the release script (argv[0..1] left free) without waiting for its
 * answer, which drain_replies reads before the connection's next command:
 * a commit never waits for Redis. The write itself is bounded by the command
 * timeout. False with err filled (and the connection dropped) on failure.
 */
static bool
send_release(int argc, const char **argv, size_t *lens, char *err, size_t errlen)
{
	int			done = 0;

	if (get_connection(true, err, errlen) == NULL)
		return false;
	argv[0] = "EVALSHA";
	lens[0] = 7;
	argv[1] = release_script.sha;
	lens[1] = strlen(release_script.sha);
	if (redisAppendCommandArgv(conn, argc, argv, lens) != REDIS_OK)
	{
		fail_connection(err, errlen, "could not queue the release");
		return false;
	}
	while (!done)
		if (redisBufferWrite(conn, &done) != REDIS_OK)
		{
			fail_connection(err, errlen, "could not send the release");
			return false;
		}
	pending_replies++;
	return true;
}

/*
 * Compare-and-delete the held keys from index first on, in one round trip,
 * and forget them. Never raises: a failure is a WARNING and the TTL frees
 * the keys. Called at (sub)transaction end, so it allocates only with malloc.
 */
static void
release_from(int first)
{
	int			n = nheld - first;
	int			argc = 3 + 2 * n;
	const char **argv;
	size_t	   *lens;
	char		err[256];
	char		nkeys[16];
	bool		sent = false;

	if (n <= 0)
		return;
	if ((conn == NULL && !tr_redis_enabled()) || GetCurrentTimestamp() < retry_after)
	{
		held_truncate(first);	/* Redis is known to be down: the TTL frees them */
		return;
	}
	argv = malloc(sizeof(char *) * argc);
	lens = malloc(sizeof(size_t) * argc);
	if (argv != NULL && lens != NULL)
	{
		snprintf(nkeys, sizeof(nkeys), "%d", n);
		argv[2] = nkeys;
		lens[2] = strlen(nkeys);
		for (int i = 0; i < n; i++)
		{
			argv[3 + i] = held[first + i].key;
			lens[3 + i] = strlen(held[first + i].key);
			argv[3 + n + i] = held[first + i].token;
			lens[3 + n + i] = TR_REDIS_TOKEN_LEN;
		}
		sent = send_release(argc, argv, lens, err, sizeof(err));
	}
	else
		snprintf(err, sizeof(err), "out of memory");
	free(argv);
	free(lens);
	held_truncate(first);
	if (sent)
		return;
	tr_metrics_redis(TR_REDIS_RELEASE_ERROR, -1);
	retry_after = GetCurrentTimestamp() + (int64) tr_redis_retry_interval_ms * 1000;
	ereport(WARNING,
			(errmsg("ticketres: could not release %d Redis seat lock%s: %s", n,
					n == 1 ? "" : "s", err),
			 errhint("The keys expire by themselves after ticketres.redis_lock_ttl.")));
}

/* Release the keys taken since mark (tr_redis_mark) before transaction end. */
void
tr_redis_release_since(int mark)
{
	release_from(Min(mark, nheld));
}

int
tr_redis_mark(void)
{
	return nheld;
}

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
			if (held == NULL)
				break;
			release_from(0);
			held_clear();
			break;
		default:
			break;
	}
}

static void
redis_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			first = nheld;

	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (int i = 0; i < nheld; i++)
			if (held[i].subid == mySubid)
				held[i].subid = parentSubid;
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		/* keys are appended in order, so the aborted part is a tail */
		for (int i = 0; i < nheld; i++)
			if (held[i].subid >= mySubid)
			{
				first = i;
				break;
			}
		release_from(first);
	}
}

void
tr_redis_init(void)
{
	RegisterXactCallback(redis_xact_callback, NULL);
	RegisterSubXactCallback(redis_subxact_callback, NULL);
}

/* ------------------------------------------------------------- acquire */

static void
new_token(char *token)
{
	uint8		raw[TR_REDIS_TOKEN_LEN / 2];

	if (!pg_strong_random(raw, sizeof(raw)))
		elog(ERROR, "ticketres: could not generate a Redis lock token");
	for (int i = 0; i < (int) sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
}

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

			if (held_has(key))
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
acquire_round_trip(const TrKeyBatch *b, int ngroups, const char *token, char *err, size_t errlen)
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
	r = run_script(&acquire_script, argc, argv, lens, err, errlen);
	if (r != NULL && !acquire_reply_ok(r, b, ngroups))
	{
		snprintf(err, errlen, "unexpected answer to the lock script");
		freeReplyObject(r);
		drop_connection();
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
				held_add(b->keys[i], token);
		else
			busy[g] = start + (int) pos - 1;
		start += b->gsize[g];
	}
	freeReplyObject(r);
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
	redisReply *r;
	instr_time	t0;

	for (int g = 0; g < ngroups; g++)
		busy[g] = -1;
	if (!tr_redis_enabled() || ngroups == 0)
		return;
	if (GetCurrentTimestamp() < retry_after)
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
		held_reserve(b.nkeys);	/* past the round trip only an out-of-memory error
								 * could leave keys unbooked: their TTL frees them */
		token = MemoryContextAlloc(held_cxt, TR_REDIS_TOKEN_LEN + 1);
		new_token(token);
		INSTR_TIME_SET_CURRENT(t0);
		r = acquire_round_trip(&b, ngroups, token, err, sizeof(err));
		if (r == NULL)
		{
			retry_after = GetCurrentTimestamp() + (int64) tr_redis_retry_interval_ms * 1000;
			tr_metrics_redis(TR_REDIS_ERROR, tr_usecs_since(t0));
			MemoryContextSwitchTo(old);
			redis_unavailable(err);
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

/* --------------------------------------------------------------- SQL */

PG_FUNCTION_INFO_V1(tr_redis_ping);

/* ticketres.redis_ping() returns boolean: NULL when off, else whether PING works. */
Datum
tr_redis_ping(PG_FUNCTION_ARGS)
{
	char		err[256];
	redisContext *c;
	redisReply *r;
	bool		ok;

	if (!tr_redis_enabled())
		PG_RETURN_NULL();
	c = get_connection(false, err, sizeof(err));
	if (c == NULL)
		PG_RETURN_BOOL(false);
	r = redisCommand(c, "PING");
	ok = r != NULL && r->type == REDIS_REPLY_STATUS && r->str != NULL &&
		strcmp(r->str, "PONG") == 0;
	if (r != NULL)
		freeReplyObject(r);
	if (!ok)
		drop_connection();
	else
		retry_after = 0;
	PG_RETURN_BOOL(ok);
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
