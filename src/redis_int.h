/*
 * redis_int.h — private declarations shared by the Redis lock layer:
 *
 *   redis_url.c   ticketres.redis_url parsing, the setting check hooks and
 *                 ticketres.redis_password_file
 *   redis_conn.c  the backend's one connection: connect, timeouts, script
 *                 loading, unread replies, the retry interval, redis_ping()
 *   redis_held.c  the keys this transaction holds and their tokens; the
 *                 keys whose release this backend owes
 *   redis_xact.c  release at (sub)transaction end: the xact callbacks
 *   redis_lock.c  acquire and release: the Lua scripts, batches, replies
 *
 * The public entry points are declared in ticketres.h.
 */
#ifndef REDIS_INT_H
#define REDIS_INT_H

#include "ticketres.h"

#include <hiredis/hiredis.h>

#include "common/sha1.h"

#define TR_REDIS_KEY_PREFIX_MAX 64
#define TR_REDIS_TOKEN_LEN		32	/* hex digits of 16 random bytes */
#define TR_REDIS_OWED_MAX		10000	/* unsent owed releases kept (keys) */
#define TR_REDIS_KEY_MAX (TR_REDIS_KEY_PREFIX_MAX + 2 * (UUID_LEN * 2 + 4) + 3)

/* ---- redis_url.c ---- */

/* Where the URL points: a TCP host and port, or a Unix socket (path set). */
typedef struct TrRedisTarget
{
	char		host[256];
	int			port;
	char		path[108];		/* unix://: the socket (sockaddr_un's sun_path) */
	int			db;
	char		user[128];
} TrRedisTarget;

#define TR_REDIS_PASSWORD_MAX	1024	/* bytes of the password file's first line */

extern bool tr_redis_parse_url(const char *url, TrRedisTarget *t, const char **why);
extern bool tr_redis_read_password(char *pw, size_t pwlen, char *err, size_t errlen);

/* ---- redis_lock.c ---- */

/*
 * A Lua script, loaded with SCRIPT LOAD on every new connection (its SHA1 is
 * the name Redis answers with) and called by EVALSHA; EVAL on NOSCRIPT.
 */
typedef struct TrScript
{
	const char *body;
	char		sha[SHA1_DIGEST_LENGTH * 2 + 1];
} TrScript;

extern TrScript tr_acquire_script;
extern TrScript tr_release_script;

extern void tr_redis_release_held(int first);
extern bool tr_redis_flush_owed(char *err, size_t errlen);

/* ---- redis_conn.c ---- */
extern redisContext *tr_redis_connection(bool any_url, char *err, size_t errlen);
extern void tr_redis_drop_connection(void);
extern redisReply *tr_redis_run_script(TrScript *s, int argc, const char **argv, size_t *lens,
									   bool *sent, char *err, size_t errlen);
extern bool tr_redis_send_release(int argc, const char **argv, size_t *lens,
								  char *err, size_t errlen);
extern uint64 tr_redis_next_release(void);
extern void tr_redis_failed(void);
extern bool tr_redis_resting(void);
extern bool tr_redis_connected(void);

/* ---- redis_held.c ---- */
extern char *tr_held_new_token(void);
extern void tr_held_reserve(int more);
extern bool tr_held_has(const char *key);
extern void tr_held_add(const char *key, const char *token);
extern int	tr_held_count(void);
extern bool tr_held_any(void);
extern void tr_held_to_parent(SubTransactionId sub, SubTransactionId parent);
extern int	tr_held_first_of(SubTransactionId sub);
extern int	tr_held_owe_from(int first);
extern void tr_held_clear(void);

extern void tr_owed_add(const char *key, const char *token);
extern int	tr_owed_unsent(void);
extern void tr_owed_take(const char **keys, const char **tokens, uint64 seq);
extern void tr_owed_settled(uint64 seq);
extern void tr_owed_unsend(uint64 seq);
extern void tr_owed_trim(void);

#endif
