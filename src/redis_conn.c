/*
 * redis_conn.c — the backend's one connection to Redis.
 *
 * Made lazily on first use (or after ticketres.redis_url changed), bounded by
 * the connect and command timeouts, authenticated, its database selected
 * and both lock scripts loaded; dropped after any failure, after which the
 * backend leaves Redis alone for ticketres.redis_retry_interval. Releases
 * are sent without waiting: their answers are read ("drained") before the
 * connection's next command; every connection that works first sends the
 * releases this backend still owes (redis_held.c). Also redis_ping().
 *
 * hiredis memory is malloc'ed: every reply is freed, and its text copied,
 * before anything is reported.
 */
#include "redis_int.h"

#include <sys/time.h>

#include "fmgr.h"
#include "storage/ipc.h"

/* ---- settings (defined in ticketres.c) ---- */
char	   *tr_redis_url = NULL;
int			tr_redis_connect_timeout_ms = 200;
int			tr_redis_timeout_ms = 200;
int			tr_redis_retry_interval_ms = 1000;

static TimestampTz retry_after = 0;	/* no attempt before this after a failure */

static redisContext *conn = NULL;
static char *conn_url = NULL;	/* malloc'ed "<url>\n<password file>" conn
								 * was made for */
static int	conn_timeout_ms = -1;	/* the command timeout conn has */
static uint64 sent_seq = 0;	/* releases sent (numbered from 1, never reset) */
static uint64 read_seq = 0;	/* of which answered (or given up on) */
static bool scripts_loaded = false; /* SCRIPT LOAD done on conn */
static bool exit_hook_set = false;

/* Forget the connection and everything that was pending on it. */
void
tr_redis_drop_connection(void)
{
	if (conn != NULL)
		redisFree(conn);
	conn = NULL;
	read_seq = sent_seq;		/* their answers will never come: */
	tr_owed_unsend(0);			/* their keys are owed again */
	scripts_loaded = false;
	if (conn_url != NULL)
		free(conn_url);
	conn_url = NULL;
}

/*
 * on_proc_exit: send the releases this backend still owes (best effort,
 * bounded by the timeouts: otherwise their keys wait for the TTL), close.
 */
static void
redis_at_exit(int code, Datum arg)
{
	char		err[256];

	if (tr_owed_unsent() > 0 && tr_redis_enabled())
		(void) tr_redis_connection(true, err, sizeof(err));
	tr_redis_drop_connection();
}

/* ms milliseconds as a struct timeval. */
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
	tr_redis_drop_connection();
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
		tr_redis_drop_connection();
	return ok;
}

/* Give conn the current command timeout; false (connection dropped) if not. */
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

/*
 * AUTH [user] password, the password from ticketres.redis_password_file
 * (read now: a new password is used from the next connection on). Nothing
 * to do without a file. False with err filled (connection dropped) if not.
 */
static bool
authenticate(const TrRedisTarget *t, char *err, size_t errlen)
{
	char		pw[TR_REDIS_PASSWORD_MAX + 2];
	const char *argv[3] = {"AUTH", t->user, pw};
	size_t		lens[3] = {4, strlen(t->user), 0};
	int			skip = t->user[0] == '\0' ? 1 : 0;	/* AUTH password */
	bool		ok;

	if (!tr_redis_read_password(pw, sizeof(pw), err, errlen))
	{
		tr_redis_drop_connection();
		return false;
	}
	if (pw[0] == '\0' && skip == 0)
	{
		snprintf(err, errlen, "ticketres.redis_url names a user: ticketres.redis_password_file must hold its password");
		tr_redis_drop_connection();
		return false;
	}
	if (pw[0] == '\0')
		return true;
	lens[2] = strlen(pw);
	argv[skip] = "AUTH";
	lens[skip] = 4;
	ok = setup_reply_ok(redisCommandArgv(conn, 3 - skip, argv + skip, lens + skip),
						err, errlen, "authentication failed");
	explicit_bzero(pw, sizeof(pw));
	return ok;
}

/* Connect to t (bounded), authenticate and select its database. */
static bool
open_connection(const TrRedisTarget *t, char *err, size_t errlen)
{
	if (t->path[0] != '\0')
		conn = redisConnectUnixWithTimeout(t->path, ms_timeval(tr_redis_connect_timeout_ms));
	else
		conn = redisConnectWithTimeout(t->host, t->port, ms_timeval(tr_redis_connect_timeout_ms));
	if (conn == NULL || conn->err)
	{
		fail_connection(err, errlen, "could not connect");
		return false;
	}
	if (!set_timeout(err, errlen) || !authenticate(t, err, errlen))
		return false;
	if (t->db != 0 &&
		!setup_reply_ok(redisCommand(conn, "SELECT %d", t->db), err, errlen,
						"could not select the database"))
		return false;
	return true;
}

/*
 * Read the answer to release number read_seq + 1 (sent without waiting):
 * normally already there. Its keys are no longer owed, unless Redis lost
 * the script (resent after SCRIPT LOAD). Another error is a WARNING (the
 * TTL frees the keys). False, connection dropped, when no answer comes.
 */
static bool
read_release_answer(char *err, size_t errlen)
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
	r = (redisReply *) v;
	read_seq++;
	snprintf(msg, sizeof(msg), "%.200s", r->type == REDIS_REPLY_ERROR && r->str ? r->str : "");
	freeReplyObject(r);
	if (strncmp(msg, "NOSCRIPT", 8) == 0)
	{
		scripts_loaded = false;
		tr_owed_unsend(read_seq);
		return true;
	}
	tr_owed_settled(read_seq);
	tr_metrics_redis(msg[0] ? TR_REDIS_RELEASE_ERROR : TR_REDIS_RELEASED, -1);
	if (msg[0])
		ereport(WARNING,
				(errmsg("ticketres: an earlier release of Redis seat locks failed: %s", msg),
				 errhint("The keys expire by themselves after ticketres.redis_lock_ttl.")));
	return true;
}

/* Read every release answer still unread; false if one never comes. */
static bool
drain_replies(char *err, size_t errlen)
{
	while (read_seq < sent_seq)
		if (!read_release_answer(err, errlen))
			return false;
	return true;
}

/*
 * SCRIPT LOAD both scripts (one round trip), so that a release can be sent
 * as EVALSHA without waiting for its answer.
 */
static bool
load_scripts(char *err, size_t errlen)
{
	TrScript   *scripts[2] = {&tr_acquire_script, &tr_release_script};

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
			tr_redis_drop_connection();
			return false;
		}
	}
	scripts_loaded = true;
	return true;
}

/* "<url>\n<password file>" of the current settings, malloc'ed (NULL if OOM). */
static char *
settings_key(void)
{
	size_t		len = strlen(tr_redis_url) + strlen(tr_redis_password_file) + 2;
	char	   *key = malloc(len);

	if (key != NULL)
		snprintf(key, len, "%s\n%s", tr_redis_url, tr_redis_password_file);
	return key;
}

/* Whether conn was made for the current URL and password file. */
static bool
made_for_settings(void)
{
	char	   *key = settings_key();
	bool		same = key != NULL && conn_url != NULL && strcmp(key, conn_url) == 0;

	free(key);
	return same;
}

/*
 * The backend's connection, made on first use or after the URL changed
 * (any_url: keep whatever connection there is), with every earlier release
 * answered and the owed releases sent. NULL with err filled when Redis
 * cannot be reached.
 */
redisContext *
tr_redis_connection(bool any_url, char *err, size_t errlen)
{
	TrRedisTarget t;
	const char *why;
	bool		ok;

	if (conn != NULL && (any_url || made_for_settings()))
	{
		/* any failure here drops the connection: the next try reconnects */
		if ((conn_timeout_ms == tr_redis_timeout_ms || set_timeout(err, errlen)) &&
			drain_replies(err, errlen) && (scripts_loaded || load_scripts(err, errlen)) &&
			tr_redis_flush_owed(err, errlen))
			return conn;
		return NULL;
	}
	tr_redis_drop_connection();
	if (!tr_redis_parse_url(tr_redis_url, &t, &why))
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
	if (ok && (conn_url = settings_key()) == NULL)
	{
		tr_redis_drop_connection();
		snprintf(err, errlen, "out of memory");
		ok = false;
	}
	return ok && tr_redis_flush_owed(err, errlen) ? conn : NULL;
}

/* Whether a connection is open (a release may be sent on it). */
bool
tr_redis_connected(void)
{
	return conn != NULL;
}

/* A call failed: leave Redis alone for ticketres.redis_retry_interval. */
void
tr_redis_failed(void)
{
	retry_after = GetCurrentTimestamp() + (int64) tr_redis_retry_interval_ms * 1000;
}

/* Whether Redis failed less than ticketres.redis_retry_interval ago. */
bool
tr_redis_resting(void)
{
	return GetCurrentTimestamp() < retry_after;
}

/* ------------------------------------------------------------ commands */

/*
 * Send one command on the connection and wait for its answer, reading the
 * answers of the releases sent before it first (one round trip in all).
 * *sent tells whether the command may have reached Redis. NULL with err
 * filled and the connection dropped on failure. Never raises.
 */
static redisReply *
redis_command(int argc, const char **argv, const size_t *lens, bool *sent,
			  char *err, size_t errlen)
{
	void	   *v = NULL;

	if (redisAppendCommandArgv(conn, argc, argv, lens) != REDIS_OK)
	{
		fail_connection(err, errlen, "could not send the command");
		return NULL;
	}
	*sent = true;
	if (!drain_replies(err, errlen))
		return NULL;
	if (redisGetReply(conn, &v) != REDIS_OK || v == NULL)
	{
		fail_connection(err, errlen, "no answer");
		return NULL;
	}
	return (redisReply *) v;
}

/*
 * Run a script whose argv[0..1] the caller left free: EVALSHA, then EVAL
 * when Redis does not know the script. Returns the reply (the caller frees
 * it), or NULL with err filled and the connection dropped; *sent tells
 * whether it may have reached Redis. Never raises.
 */
redisReply *
tr_redis_run_script(TrScript *s, int argc, const char **argv, size_t *lens, bool *sent,
					char *err, size_t errlen)
{
	redisReply *r;

	*sent = false;
	if (tr_redis_connection(false, err, errlen) == NULL)
		return NULL;
	argv[0] = "EVALSHA";
	lens[0] = 7;
	argv[1] = s->sha;
	lens[1] = strlen(s->sha);
	r = redis_command(argc, argv, lens, sent, err, errlen);
	if (r != NULL && r->type == REDIS_REPLY_ERROR && r->str != NULL &&
		strncmp(r->str, "NOSCRIPT", 8) == 0)
	{
		freeReplyObject(r);
		argv[0] = "EVAL";
		lens[0] = 4;
		argv[1] = s->body;
		lens[1] = strlen(s->body);
		r = redis_command(argc, argv, lens, sent, err, errlen);
	}
	if (r != NULL && r->type == REDIS_REPLY_ERROR)
	{
		snprintf(err, errlen, "Redis answered: %.200s", r->str ? r->str : "error");
		freeReplyObject(r);
		tr_redis_drop_connection();
		return NULL;
	}
	return r;
}

/*
 * Send the release script (argv[0..1] left free) without waiting for its
 * answer, which is read before the connection's next command: a commit
 * never waits for Redis. The write itself is bounded by the command timeout.
 * Its number (see tr_owed_take) is tr_redis_next_release(). False with err
 * filled (and the connection dropped) on failure.
 */
bool
tr_redis_send_release(int argc, const char **argv, size_t *lens, char *err, size_t errlen)
{
	int			done = 0;

	argv[0] = "EVALSHA";
	lens[0] = 7;
	argv[1] = tr_release_script.sha;
	lens[1] = strlen(tr_release_script.sha);
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
	sent_seq++;
	return true;
}

/* The number the next release sent will have. */
uint64
tr_redis_next_release(void)
{
	return sent_seq + 1;
}

/* --------------------------------------------------------------- SQL */

PG_FUNCTION_INFO_V1(tr_redis_ping);

/* ticketres.redis_ping() returns boolean: NULL when off, else whether PING works. */
Datum
tr_redis_ping(PG_FUNCTION_ARGS)
{
	char		err[256];
	const char *ping = "PING";
	size_t		ping_len = 4;
	bool		sent;
	redisReply *r;
	bool		ok;

	if (!tr_redis_enabled())
		PG_RETURN_NULL();
	if (tr_redis_connection(false, err, sizeof(err)) == NULL)
		PG_RETURN_BOOL(false);
	r = redis_command(1, &ping, &ping_len, &sent, err, sizeof(err));
	ok = r != NULL && r->type == REDIS_REPLY_STATUS && r->str != NULL &&
		strcmp(r->str, "PONG") == 0;
	if (r != NULL)
		freeReplyObject(r);
	if (!ok)
		tr_redis_drop_connection();
	else
		retry_after = 0;
	PG_RETURN_BOOL(ok);
}
