/*
 * errors.h — the ticketres error catalogue (mirrored in README.md, "Error codes").
 *
 * The SQLSTATE picks the HTTP status PostgREST answers with (PTnnn -> nnn).
 * Messages are stable and lowercase; clients match on SQLSTATE + message.
 */
#ifndef TICKETRES_ERRORS_H
#define TICKETRES_ERRORS_H

#include "utils/elog.h"

/* 22023 invalid_parameter_value is PostgreSQL's own ERRCODE_INVALID_PARAMETER_VALUE */
#define TR_ERRCODE_FORBIDDEN		MAKE_SQLSTATE('P','T','4','0','3')
#define TR_ERRCODE_NOT_FOUND		MAKE_SQLSTATE('P','T','4','0','4')
#define TR_ERRCODE_CONFLICT			MAKE_SQLSTATE('P','T','4','0','9')
#define TR_ERRCODE_GONE				MAKE_SQLSTATE('P','T','4','1','0')
#define TR_ERRCODE_UNPROCESSABLE	MAKE_SQLSTATE('P','T','4','2','2')
#define TR_ERRCODE_UNAVAILABLE		MAKE_SQLSTATE('P','T','5','0','3')

/* the stable messages, one per reason */
#define TR_MSG_EVENT_NOT_FOUND		"event not found"
#define TR_MSG_SEAT_NOT_FOUND		"seat not found"
#define TR_MSG_RES_NOT_FOUND		"reservation not found"
#define TR_MSG_SEAT_UNAVAILABLE		"seat unavailable"
#define TR_MSG_SEAT_BUSY			"seat busy"
#define TR_MSG_NOT_PENDING			"reservation not pending"
#define TR_MSG_BOOKING_CLOSED		"booking closed"
#define TR_MSG_HOLD_EXPIRED			"hold expired"
#define TR_MSG_KEY_REUSED			"idempotency key reused"
#define TR_MSG_TOO_MANY_SEATS		"too many seats"
#define TR_MSG_USER_MISMATCH		"user mismatch"
#define TR_MSG_LOCK_UNAVAILABLE		"lock service unavailable"
#define TR_MSG_EVENT_HAS_RESERVATIONS	"event has reservations"
/* 0.2: general admission and best available */
#define TR_MSG_AREA_NOT_FOUND		"area not found"
#define TR_MSG_SOLD_OUT				"sold out"
#define TR_MSG_NOT_ENOUGH_SEATS		"not enough seats"
#define TR_MSG_CAPACITY_BELOW_SOLD	"capacity below sold"

/* 22023 with a message saying what is wrong with which argument */
#define tr_bad_argument(...) \
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg(__VA_ARGS__)))

#endif
