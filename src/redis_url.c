/*
 * redis_url.c — where Redis is and how to log in: ticketres.redis_url (the
 * parser and the check hooks of the URL and the key prefix) and
 * ticketres.redis_password_file (read at connect).
 *
 * A URL is redis://[user@]host[:port][/db], or unix://[user@]/path[?db=N]
 * for a Redis on the same machine (its Unix socket: no TCP stack on either
 * side of a round trip, doc/performance.md). It may not carry a password:
 * PostgreSQL logs a setting changed by a reload with its new value, and
 * ALTER SYSTEM writes it into postgresql.auto.conf, so a password there
 * would leak. The password lives in a file only the server's OS user may
 * read, like libpq's passfile. Nothing here ever quotes the URL or the file.
 */
#include "redis_int.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utils/guc.h"

char	   *tr_redis_password_file = NULL;	/* defined in ticketres.c */

static const char url_has_password[] = "it carries a password";

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
 * The [user@] part of a URL at *p (up to the first '/' for unix://, else
 * the last '@'): into t->user, *p moved past it. False with *why if bad.
 */
static bool
parse_user(const char **p, bool unix_socket, TrRedisTarget *t, const char **why)
{
	const char *end = unix_socket ? strchr(*p, '/') : NULL;
	const char *at;

	if (unix_socket)
		at = end != NULL ? memchr(*p, '@', end - *p) : strchr(*p, '@');
	else
		at = strrchr(*p, '@');
	if (at == NULL)
		return true;
	if (memchr(*p, ':', at - *p) != NULL)
		return (*why = url_has_password, false);
	if (at == *p || !url_decode(*p, at - *p, t->user, sizeof(t->user)))
		return (*why = "the user is empty, too long or badly escaped", false);
	*p = at + 1;
	return true;
}

/* unix://[user@]/path[?db=N], after the user: the socket and the database. */
static bool
parse_unix(const char *p, TrRedisTarget *t, const char **why)
{
	const char *query = strchr(p, '?');
	size_t		len = query ? (size_t) (query - p) : strlen(p);

	if (*p != '/')
		return (*why = "a unix:// URL must name the socket by its absolute path", false);
	if (len >= sizeof(t->path))
		return (*why = "the socket path is longer than 107 bytes", false);
	memcpy(t->path, p, len);
	if (query != NULL &&
		(strncmp(query, "?db=", 4) != 0 || (t->db = parse_uint(query + 4, strlen(query + 4), 1000000)) < 0))
		return (*why = "after the socket path only ?db=<number> may follow", false);
	return true;
}

/*
 * Parse redis://[user@]host[:port][/db] or unix://[user@]/path[?db=N] into
 * *t. On failure sets *why to a message that never quotes the URL (it may
 * hold a password).
 */
bool
tr_redis_parse_url(const char *url, TrRedisTarget *t, const char **why)
{
	const char *p,
			   *slash,
			   *hend,
			   *colon;
	bool		unix_socket = strncmp(url, "unix://", 7) == 0;

	memset(t, 0, sizeof(*t));
	t->port = 6379;
	if (!unix_socket && strncmp(url, "redis://", 8) != 0)
		return (*why = "it must start with redis:// or unix://", false);
	p = url + (unix_socket ? 7 : 8);
	if (!parse_user(&p, unix_socket, t, why))
		return false;
	if (unix_socket)
		return parse_unix(p, t, why);
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

	if (*newval == NULL || (*newval)[0] == '\0' || tr_redis_parse_url(*newval, &t, &why))
		return true;
	if (why == url_has_password)
	{
		GUC_check_errmsg("ticketres.redis_url must not carry a password");
		GUC_check_errdetail("A changed setting reaches the server log with its value, and ALTER SYSTEM "
							"writes it into postgresql.auto.conf.");
		GUC_check_errhint("Put the password in a file only the server's OS user can read and name it in "
						  "ticketres.redis_password_file.");
		return false;
	}
	GUC_check_errmsg("invalid ticketres.redis_url: %s", why);
	GUC_check_errdetail("Expected redis://[user@]host[:port][/db] or unix://[user@]/path/to/redis.sock[?db=N]; "
						"empty turns Redis locks off.");
	return false;
}

/*
 * Open ticketres.redis_password_file: a regular file no one but its owner
 * may read or write (like libpq's passfile). -1 with err filled if not.
 */
static int
open_password_file(char *err, size_t errlen)
{
	struct stat st;
	int			fd = open(tr_redis_password_file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		snprintf(err, errlen, "could not open ticketres.redis_password_file: %s", strerror(errno));
	else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		snprintf(err, errlen, "ticketres.redis_password_file is not a regular file");
	else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		snprintf(err, errlen, "ticketres.redis_password_file has group or world access; "
				 "permissions should be u=rw (0600) or less");
	else
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/*
 * The password for the AUTH of a new connection into pw (size pwlen): the
 * first line of ticketres.redis_password_file, or "" when no file is set.
 * False with err filled (never with the content) if it cannot be used.
 */
bool
tr_redis_read_password(char *pw, size_t pwlen, char *err, size_t errlen)
{
	int			fd;
	ssize_t		n;
	char	   *eol;

	pw[0] = '\0';
	if (tr_redis_password_file == NULL || tr_redis_password_file[0] == '\0')
		return true;
	if ((fd = open_password_file(err, errlen)) < 0)
		return false;
	n = read(fd, pw, pwlen - 1);
	close(fd);
	pw[Max(n, 0)] = '\0';
	eol = strpbrk(pw, "\r\n");
	if (n < 0)
		snprintf(err, errlen, "could not read ticketres.redis_password_file: %s", strerror(errno));
	else if (eol == NULL && (size_t) n == pwlen - 1)
		snprintf(err, errlen, "the first line of ticketres.redis_password_file is longer than %d bytes",
				 (int) pwlen - 2);
	else if (eol == pw || n == 0)
		snprintf(err, errlen, "the first line of ticketres.redis_password_file is empty");
	else
	{
		if (eol != NULL)
			explicit_bzero(eol, pwlen - (eol - pw));	/* the rest of the file */
		return true;
	}
	explicit_bzero(pw, pwlen);
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

/* Whether Redis locks are on (ticketres.redis_url is set). */
bool
tr_redis_enabled(void)
{
	return tr_redis_url != NULL && tr_redis_url[0] != '\0';
}

