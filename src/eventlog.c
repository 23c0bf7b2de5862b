/*
 * eventlog.c — structured log lines, one per state change, when the setting
 * ticketres.log_events is on (default off; superuser may SET it per session).
 *
 * A line is "ticketres: " followed by key=value fields in a fixed order:
 *   action outcome event reservation user actor seats duration_ms reason
 * Fields that do not apply are left out. user, actor and reason are always
 * double-quoted, with \" and \\ escaped and every control character (newline,
 * carriage return, tab, ESC, DEL, ...) written as \n, \r, \t or \xHH, so a
 * value can never end its line or forge another; the others never contain
 * spaces.
 * With log_destination = 'jsonlog' the line becomes the "message" field.
 * Lines are written when the call succeeds: a surrounding transaction that
 * rolls back later is not reflected.
 */
#include "ticketres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"

bool		tr_log_events = false;

static void
append_quoted(StringInfo buf, const char *key, const char *value)
{
	appendStringInfo(buf, " %s=\"", key);
	for (const unsigned char *p = (const unsigned char *) value; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			appendStringInfo(buf, "\\%c", *p);
		else if (*p == '\n')
			appendStringInfoString(buf, "\\n");
		else if (*p == '\r')
			appendStringInfoString(buf, "\\r");
		else if (*p == '\t')
			appendStringInfoString(buf, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			appendStringInfo(buf, "\\x%02x", *p);
		else
			appendStringInfoChar(buf, (char) *p);
	}
	appendStringInfoChar(buf, '"');
}

/* Write the LOG line of one state change (no-op when log_events is off). */
void
tr_log_change(const TrLogEvent *e)
{
	StringInfoData buf;

	if (!tr_log_events)
		return;
	initStringInfo(&buf);
	appendStringInfo(&buf, "ticketres: action=%s outcome=%s", e->action, e->outcome);
	if (e->event != NULL)
		appendStringInfo(&buf, " event=%s", tr_uuid_str(e->event));
	if (e->reservation != NULL)
		appendStringInfo(&buf, " reservation=%s", tr_uuid_str(e->reservation));
	if (e->user != NULL)
		append_quoted(&buf, "user", e->user);
	if (e->actor != NULL)
		append_quoted(&buf, "actor", e->actor);
	if (e->seats > 0)
		appendStringInfo(&buf, " seats=%d", e->seats);
	if (e->usecs > 0)
		appendStringInfo(&buf, " duration_ms=%.3f", (double) e->usecs / 1000.0);
	if (e->reason != NULL)
		append_quoted(&buf, "reason", e->reason);
	ereport(LOG, (errmsg_internal("%s", buf.data), errhidestmt(true), errhidecontext(true)));
	pfree(buf.data);
}

static const char *
text_arg_or_null(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(argno));
}

PG_FUNCTION_INFO_V1(tr_log_event_sql);

/*
 * ticketres._log_event(action text, outcome text, event_id uuid,
 * reservation_id uuid, user_id text, actor text, seats int, reason text):
 * the same line for the SQL admin functions.
 */
Datum
tr_log_event_sql(PG_FUNCTION_ARGS)
{
	TrLogEvent	e = {0};

	if (!tr_log_events || PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_VOID();
	e.action = text_arg_or_null(fcinfo, 0);
	e.outcome = text_arg_or_null(fcinfo, 1);
	e.event = PG_ARGISNULL(2) ? NULL : PG_GETARG_UUID_P(2);
	e.reservation = PG_ARGISNULL(3) ? NULL : PG_GETARG_UUID_P(3);
	e.user = text_arg_or_null(fcinfo, 4);
	e.actor = text_arg_or_null(fcinfo, 5);
	e.seats = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT32(6);
	e.reason = text_arg_or_null(fcinfo, 7);
	tr_log_change(&e);
	PG_RETURN_VOID();
}
