// answers.js — the ticketres error catalogue (README "Error codes") as a buyer
// reads it. Clients match on SQLSTATE + message, never on the message alone:
// PT409 covers four different situations.

// reason: a stable name the caller can branch on; status: the HTTP status a
// web service answers with; text: what the buyer is shown; retry: worth
// trying the same request again after a short wait.
const CATALOGUE = {
  'PT404 event not found': { reason: 'event_not_found', status: 404, text: 'This event does not exist (any more).' },
  'PT404 seat not found': { reason: 'seat_not_found', status: 404, text: 'That seat does not exist for this event; please refresh the seat map.' },
  'PT404 reservation not found': { reason: 'reservation_not_found', status: 404, text: 'We cannot find that booking.' },
  'PT404 area not found': { reason: 'area_not_found', status: 404, text: 'That area does not exist for this event.' },
  'PT409 seat unavailable': { reason: 'taken', status: 409, text: 'Sorry, that seat is taken; please pick another.' },
  'PT409 seat busy': { reason: 'taken', status: 409, text: 'Sorry, that seat is taken; please pick another.', retry: true },
  'PT409 reservation not pending': { reason: 'not_pending', status: 409, text: 'This booking is already finished (bought, cancelled or expired).' },
  'PT409 booking closed': { reason: 'closed', status: 409, text: 'Sales for this event have closed.' },
  'PT409 sold out': { reason: 'sold_out', status: 409, text: 'Sorry, there are not enough tickets left in that area.' },
  'PT409 not enough seats': { reason: 'sold_out', status: 409, text: 'Sorry, there are not enough seats together left; try fewer seats or another section.' },
  'PT410 hold expired': { reason: 'expired', status: 410, text: 'Your hold on these seats ran out; please choose your seats again.' },
  'PT422 idempotency key reused': { reason: 'checkout_reused', status: 422, text: 'This checkout was already used for other seats; please start a new checkout.' },
  'PT422 too many seats': { reason: 'too_many_seats', status: 422, text: 'You picked more seats than one booking may hold for this event.' },
  'PT403 user mismatch': { reason: 'wrong_user', status: 403, text: 'You are signed in as someone else; please sign in again.' },
  'PT503 lock service unavailable': { reason: 'unavailable', status: 503, text: 'Booking is briefly unavailable; please try again in a minute.' },
};

// The buyer's answer for a database error, or null when it is not one of the
// catalogue's (a bug, a lost connection: the caller's to handle).
export function answerFor(err) {
  if (!err || typeof err.code !== 'string') return null;
  if (err.code === '22023') {
    // a bad argument: the service sent something it should have checked
    return { reason: 'invalid', status: 400, text: `That request is not valid: ${err.message}.`, retry: false };
  }
  const a = CATALOGUE[`${err.code} ${err.message}`];
  return a ? { retry: false, ...a } : null;
}

// An error that carries the buyer's answer; what the checkout functions throw
// for catalogue errors (err.answer, err.cause = the database error).
export class CheckoutError extends Error {
  constructor(answer, cause) {
    super(answer.text, { cause });
    this.name = 'CheckoutError';
    this.answer = answer;
  }
}
