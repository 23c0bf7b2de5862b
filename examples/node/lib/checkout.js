// checkout.js — a checkout on ticketres with node-postgres: hold the seats
// under an idempotency key that belongs to the checkout, charge the buyer,
// then confirm (paid) or cancel (payment failed).
//
// Every call is one autocommit statement on a pooled connection: ticketres
// takes its locks inside the call and never waits for another buyer, so no
// transaction is held open across the payment.
import { setTimeout as sleep } from 'node:timers/promises';
import { answerFor, CheckoutError } from './answers.js';

export { answerFor, CheckoutError } from './answers.js';

const DEFAULTS = {
  reserveAttempts: 5, // seat busy: tries of tr_reserve before "taken"
  // seat busy on confirm/cancel (buyers still trying the seat lock it for a
  // moment each): the buyer has paid, so keep at it far longer, ~20 s at the
  // cap, still well inside any hold
  finishAttempts: 40,
  backoffMs: 20, // first backoff ceiling, doubled per try ...
  backoffCapMs: 500, // ... up to this
};

// The idempotency key of a checkout: retrying the same checkout (a reload, a
// lost response, a double click) reuses it and gets the same reservation.
export function keyFor(checkoutId) {
  return `checkout:${checkoutId}`;
}

// Run one ticketres call; catalogue errors become CheckoutError, `seat busy`
// is retried with full-jitter exponential backoff up to `attempts` times.
async function call(pool, sql, params, attempts, opts, stats) {
  for (let n = 1; ; n++) {
    try {
      const { rows } = await pool.query(sql, params);
      return rows[0];
    } catch (err) {
      const answer = answerFor(err);
      if (!answer) throw err;
      if (!answer.retry || err.message !== 'seat busy' || n >= attempts) {
        throw new CheckoutError(answer, err);
      }
      stats.busyRetries++;
      const ceiling = Math.min(opts.backoffCapMs, opts.backoffMs * 2 ** (n - 1));
      await sleep(Math.random() * ceiling);
    }
  }
}

const RESERVE = 'SELECT * FROM tr_reserve($1, $2, $3::uuid[], $4, $5::interval)';
const CONFIRM = 'SELECT * FROM tr_confirm($1, $2)';
const CANCEL = 'SELECT * FROM tr_cancel($1, $2)';
const GET = 'SELECT * FROM tr_get_reservation($1, $2)';

// Hold seats for a checkout (the same checkout again returns its reservation,
// whatever its status now).
export function reserve(pool, { checkoutId, eventId, userId, seatIds, hold = null }, opts = {}, stats = { busyRetries: 0 }) {
  const o = { ...DEFAULTS, ...opts };
  return call(pool, RESERVE, [eventId, userId, seatIds, keyFor(checkoutId), hold], o.reserveAttempts, o, stats);
}

export function confirm(pool, reservationId, userId, opts = {}, stats = { busyRetries: 0 }) {
  const o = { ...DEFAULTS, ...opts };
  return call(pool, CONFIRM, [reservationId, userId], o.finishAttempts, o, stats);
}

export function cancel(pool, reservationId, userId, opts = {}, stats = { busyRetries: 0 }) {
  const o = { ...DEFAULTS, ...opts };
  return call(pool, CANCEL, [reservationId, userId], o.finishAttempts, o, stats);
}

// A finished reservation as the answer the buyer gets.
function settled(res, stats, extra = {}) {
  const outcome = { confirmed: 'purchased', cancelled: 'cancelled', expired: 'expired' }[res.status];
  const answer = res.status === 'expired' ? answerFor({ code: 'PT410', message: 'hold expired' }) : undefined;
  return { outcome, reservation: res, answer, ...stats, ...extra };
}

// confirm/cancel lost a race with itself (a concurrent retry of the same
// checkout finished first) or with expiry: read what the reservation is now.
async function finishOrRead(pool, fn, res, userId, opts, stats) {
  try {
    return await fn(pool, res.id, userId, opts, stats);
  } catch (err) {
    if (err.answer?.reason !== 'not_pending') throw err;
    const { rows } = await pool.query(GET, [res.id, userId]);
    return rows[0];
  }
}

/**
 * checkout(pool, {checkoutId, eventId, userId, seatIds, hold}, payment, opts)
 *
 * Resolves to {outcome, reservation, answer, busyRetries, charge}:
 *   purchased       seats sold (also for a retried checkout that was bought)
 *   payment_failed  the charge was declined; the hold was cancelled, seats back
 *   cancelled       a retried checkout whose hold was cancelled before
 *   expired         the hold ran out (before or during payment; refunded)
 *   rejected        a catalogue error: answer = {reason, status, text}
 * Rejects only for errors outside the catalogue (bugs, lost connections).
 *
 * payment: {charge({key, reservationId, amount}) -> {ok, id}, refund(charge)};
 * the key is the checkout's, so a payment provider charges a retry once.
 */
export async function checkout(pool, request, payment, opts = {}) {
  const stats = { busyRetries: 0 };
  let res;
  try {
    res = await reserve(pool, request, opts, stats);
  } catch (err) {
    if (err instanceof CheckoutError) return { outcome: 'rejected', answer: err.answer, ...stats };
    throw err;
  }
  if (res.status !== 'pending') return settled(res, stats, { replayed: true });

  const charge = await payment.charge({ key: keyFor(request.checkoutId), reservationId: res.id, amount: BigInt(res.total_amount) });
  try {
    if (!charge.ok) {
      const after = await finishOrRead(pool, cancel, res, request.userId, opts, stats);
      if (after.status === 'cancelled') {
        return { outcome: 'payment_failed', reservation: after, charge, ...stats,
                 answer: { reason: 'payment_failed', status: 402, text: 'Your payment did not go through; the seats were released.' } };
      }
      return settled(after, stats, { charge });
    }
    const after = await finishOrRead(pool, confirm, res, request.userId, opts, stats);
    if (after.status !== 'confirmed') await payment.refund(charge);
    return settled(after, stats, { charge });
  } catch (err) {
    // paid but not sold (the hold ran out, the lock service is down...): refund
    if (charge.ok) await payment.refund(charge);
    if (err instanceof CheckoutError) return { outcome: err.answer.reason === 'expired' ? 'expired' : 'rejected', answer: err.answer, charge, ...stats };
    throw err;
  }
}
