/*
 * redis_url.c — what ticketres.redis_url and ticketres.redis_key_prefix may
 * hold: the URL parser and the check hooks of both settings.
 *
 * A URL is redis://[[user]:password@]host[:port][/db]. Nothing here ever
 * quotes the URL: it may hold a password.
 */
#include "redis_int.h"

#include "utils/guc.h"

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
bool
tr_redis_parse_url(const char *url, TrRedisTarget *t, const char **why)
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

	if (*newval == NULL || (*newval)[0] == '\0' || tr_redis_parse_url(*newval, &t, &why))
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

/* Whether Redis locks are on (ticketres.redis_url is set). */
bool
tr_redis_enabled(void)
{
	return tr_redis_url != NULL && tr_redis_url[0] != '\0';
}

