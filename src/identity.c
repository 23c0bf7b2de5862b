/*
 * identity.c — who is calling.
 *
 * A SQL caller names the user in the user_id argument. Behind PostgREST the
 * JWT's claims arrive in the setting request.jwt.claims: then the claim
 * "sub" is the user, a NULL user_id means that user, and a different user_id
 * is PT403 "user mismatch". A JWT without "sub" cannot act for anyone.
 */
#include "ticketres.h"

#include "errors.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"

/* The JWT's "sub" claim, or NULL when the call carries no JWT claims. */
static char *
jwt_subject(bool *has_claims)
{
	const char *claims = GetConfigOption("request.jwt.claims", true, false);
	Jsonb	   *jb;
	JsonbValue *sub;

	*has_claims = false;
	if (claims == NULL || claims[0] == '\0')
		return NULL;
	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(claims)));
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_COUNT(jb) == 0)
		return NULL;
	*has_claims = true;
	sub = getKeyJsonValueFromContainer(&jb->root, "sub", 3, NULL);
	if (sub == NULL || sub->type != jbvString || sub->val.string.len == 0)
		return NULL;
	return pnstrdup(sub->val.string.val, sub->val.string.len);
}

/*
 * The acting user for a call whose user_id is argument argno: checked
 * against the JWT when there is one, otherwise required and bounded.
 */
char *
tr_caller(FunctionCallInfo fcinfo, int argno)
{
	bool		has_claims;
	char	   *sub = jwt_subject(&has_claims);
	char	   *given = NULL;

	if (!PG_ARGISNULL(argno))
		given = tr_text_arg(fcinfo, argno, "user_id", TR_MAX_USER_ID_LEN);
	if (has_claims && sub == NULL)
		ereport(ERROR,
				(errcode(TR_ERRCODE_FORBIDDEN),
				 errmsg(TR_MSG_USER_MISMATCH),
				 errdetail("The JWT has no \"sub\" claim, so it names no user."),
				 errhint("Issue tokens whose \"sub\" is the user id.")));
	if (sub == NULL)
	{
		if (given == NULL)
			tr_bad_argument("user_id must not be null");
		return given;
	}
	if (given != NULL && strcmp(given, sub) != 0)
		ereport(ERROR,
				(errcode(TR_ERRCODE_FORBIDDEN),
				 errmsg(TR_MSG_USER_MISMATCH),
				 errdetail("user_id is \"%s\" but the JWT is for \"%s\".", given, sub),
				 errhint("Omit user_id to act as the JWT's user.")));
	if (strlen(sub) > TR_MAX_USER_ID_LEN)
		tr_bad_argument("user_id is too long");
	return sub;
}

PG_FUNCTION_INFO_V1(tr_caller_sql);

/* ticketres._caller(user_id text) returns text: the acting user, for SQL functions. */
Datum
tr_caller_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(tr_caller(fcinfo, 0)));
}
