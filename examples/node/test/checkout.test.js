// The checkout service against a real PostgreSQL with ticketres: every
// catalogue error provoked for real and mapped, payment success and failure,
// idempotent retries, seat-busy backoff, and 100 buyers on one seat.
//
// Needs PGHOST/PGPORT/PGUSER (a superuser) of a cluster where ticketres is
// installed; makes its own database and drops it at the end. Top-level tests
// only, so TAP has one "ok N" line per test (test/suites/71_node.sh).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { checkout, confirm, cancel, answerFor } from '../lib/checkout.js';
import { simulatedPayment } from '../lib/payment.js';

const DB = `tr_node_${process.pid}`;
let admin; // a client on the maintenance database: CREATE/DROP DATABASE
let pool; // the service's pool: bounded, well under max_connections
const pools = [];

const q = async (sql, params) => (await pool.query(sql, params)).rows;
const one = async (sql, params) => (await q(sql, params))[0];
const paid = () => simulatedPayment();

async function event({ rows = 1, perRow = 10, startsIn = '30 days', maxSeats = 10 } = {}) {
  const ev = await one(
    `SELECT id FROM tr_create_event('Node night', now() + $1::interval, now() + $1::interval + interval '3 hours',
                                    max_seats_per_reservation => $2)`, [startsIn, maxSeats]);
  await q('SELECT tr_generate_seats($1, $2, $3, $4, 2500)', [ev.id, 'A', rows, perRow]);
  const seats = (await q('SELECT id FROM ticketres.seats WHERE event_id = $1 ORDER BY label', [ev.id])).map((r) => r.id);
  return { id: ev.id, seats };
}
const seatStatus = async (id) => (await one('SELECT status FROM ticketres.seats WHERE id = $1', [id])).status;
const buy = (ev, seatIds, extra = {}) => ({ checkoutId: randomUUID(), eventId: ev.id, userId: 'alice', seatIds, ...extra });
let closing = false;
// a pool whose idle connections' errors fail the run, except the ones DROP
// DATABASE ... (FORCE) causes when it ends connections pool.end() still closes
function newPool(options) {
  const p = new pg.Pool({ database: DB, max: 4, ...options });
  p.on('error', (err) => { if (!closing) throw err; });
  pools.push(p);
  return p;
}

before(async () => {
  admin = new pg.Client();
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DB}`);
  pool = newPool({ max: 20 });
  await pool.query('CREATE EXTENSION ticketres');
});

after(async () => {
  closing = true;
  await Promise.all(pools.map((p) => p.end()));
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.end();
});

test('payment succeeds: the seats are sold and charged once', async () => {
  const ev = await event();
  const pay = paid();
  const r = await checkout(pool, buy(ev, ev.seats.slice(0, 2)), pay);
  assert.equal(r.outcome, 'purchased');
  assert.equal(r.reservation.status, 'confirmed');
  assert.deepEqual([await seatStatus(ev.seats[0]), await seatStatus(ev.seats[1])], ['confirmed', 'confirmed']);
  assert.equal(pay.charges.size, 1);
  assert.equal([...pay.charges.values()][0].amount, 5000n);
});

test('payment declined: the hold is cancelled and the seats come back', async () => {
  const ev = await event();
  const pay = simulatedPayment({ decline: () => true });
  const r = await checkout(pool, buy(ev, ev.seats.slice(0, 3)), pay);
  assert.equal(r.outcome, 'payment_failed');
  assert.equal(r.answer.text, 'Your payment did not go through; the seats were released.');
  assert.equal(r.reservation.status, 'cancelled');
  assert.equal((await one('SELECT tr_available_count($1) AS n', [ev.id])).n, '10');
  const again = await checkout(pool, buy(ev, ev.seats.slice(0, 3), { userId: 'bob' }), paid());
  assert.equal(again.outcome, 'purchased', 'another buyer gets the released seats');
});

test('retrying the same checkout returns the same reservation and charges once', async () => {
  const ev = await event();
  const pay = paid();
  const req = buy(ev, [ev.seats[0]]);
  const first = await checkout(pool, req, pay);
  const again = await checkout(pool, req, pay);
  assert.equal(first.outcome, 'purchased');
  assert.deepEqual([again.outcome, again.reservation.id, again.replayed], ['purchased', first.reservation.id, true]);
  const twice = await Promise.all([3, 4].map((i) => checkout(pool, { ...req, checkoutId: 'twice', seatIds: [ev.seats[i]] }, pay)));
  assert.deepEqual(twice.map((r) => r.answer?.reason ?? r.outcome).sort(), ['checkout_reused', 'purchased'],
    'one key, two different requests at once: one is bought, the other is PT422');
  const [c, d] = await Promise.all([1, 2].map(() => checkout(pool, { ...req, checkoutId: 'double-click', seatIds: [ev.seats[2]] }, pay)));
  assert.deepEqual([c.outcome, d.outcome, c.reservation.id], ['purchased', 'purchased', d.reservation.id], 'two concurrent retries: one reservation, both bought');
  assert.equal((await one("SELECT count(*) AS n FROM ticketres.reservations WHERE user_id = 'alice' AND event_id = $1", [ev.id])).n, '3');
  assert.equal(pay.charges.size, 3);
  assert.equal(pay.refunds.length, 0);
});

test('22023: a bad argument is "not valid"', async () => {
  const ev = await event();
  const r = await checkout(pool, buy(ev, []), paid());
  assert.deepEqual([r.outcome, r.answer.reason, r.answer.status], ['rejected', 'invalid', 400]);
  assert.match(r.answer.text, /^That request is not valid: seat_ids must not be empty\.$/);
});

test('PT404: unknown event, seat and reservation', async () => {
  const ev = await event();
  const noEvent = await checkout(pool, { ...buy(ev, [ev.seats[0]]), eventId: randomUUID() }, paid());
  assert.deepEqual([noEvent.answer.reason, noEvent.answer.status], ['event_not_found', 404]);
  const noSeat = await checkout(pool, buy(ev, [randomUUID()]), paid());
  assert.equal(noSeat.answer.reason, 'seat_not_found');
  await assert.rejects(confirm(pool, randomUUID(), 'alice'), (e) => e.answer.reason === 'reservation_not_found' && e.cause.code === 'PT404');
  const mine = await checkout(pool, buy(ev, [ev.seats[1]]), paid());
  await assert.rejects(cancel(pool, mine.reservation.id, 'bob'), (e) => e.answer.reason === 'reservation_not_found', "someone else's reservation is not found");
});

test('PT409 seat unavailable: "taken, pick another"', async () => {
  const ev = await event();
  await checkout(pool, buy(ev, [ev.seats[0]]), paid());
  const r = await checkout(pool, buy(ev, [ev.seats[0]], { userId: 'bob' }), paid());
  assert.deepEqual([r.outcome, r.answer.reason, r.answer.status, r.busyRetries], ['rejected', 'taken', 409, 0]);
  assert.equal(r.answer.text, 'Sorry, that seat is taken; please pick another.');
});

test('PT409 seat busy: retried with backoff under the same key, then "taken"', async () => {
  const ev = await event();
  const other = await pool.connect();
  try {
    // another buyer's tr_reserve, still in its transaction: its seat lock is held
    await other.query('BEGIN');
    await other.query("SELECT tr_reserve($1, 'carol', ARRAY[$2]::uuid[], 'c-1')", [ev.id, ev.seats[0]]);
    const req = buy(ev, [ev.seats[0]]);
    const r = await checkout(pool, req, paid(), { reserveAttempts: 4, backoffMs: 5 });
    assert.deepEqual([r.outcome, r.answer.reason, r.busyRetries], ['rejected', 'taken', 3]);
    // the lock goes away while the retries wait: the same checkout gets the seat
    setTimeout(() => other.query('ROLLBACK'), 150);
    const won = await checkout(pool, req, paid(), { reserveAttempts: 12, backoffMs: 20, backoffCapMs: 200 });
    assert.equal(won.outcome, 'purchased');
    assert.ok(won.busyRetries >= 1, `busy retries: ${won.busyRetries}`);
    assert.equal((await one('SELECT count(*) AS n FROM ticketres.reservations WHERE idempotency_key = $1', [`checkout:${req.checkoutId}`])).n, '1');
  } finally {
    other.release();
  }
});

test('PT409 reservation not pending: cancelling a cancelled hold', async () => {
  const ev = await event();
  const r = await checkout(pool, buy(ev, [ev.seats[0]]), simulatedPayment({ decline: () => true }));
  await assert.rejects(cancel(pool, r.reservation.id, 'alice'), (e) => e.answer.reason === 'not_pending' && e.answer.status === 409);
});

test('PT409 booking closed: the event has started', async () => {
  const ev = await event({ startsIn: '-1 hour' });
  const r = await checkout(pool, buy(ev, [ev.seats[0]]), paid());
  assert.deepEqual([r.answer.reason, r.answer.text], ['closed', 'Sales for this event have closed.']);
});

test('PT410 hold expired: payment outlasts the hold, the charge is refunded', async () => {
  const ev = await event();
  const pay = simulatedPayment({ delayMs: 1300 });
  const r = await checkout(pool, buy(ev, [ev.seats[0]], { hold: '1 second' }), pay);
  assert.deepEqual([r.outcome, r.answer.reason, r.answer.status], ['expired', 'expired', 410]);
  assert.deepEqual(pay.refunds, [r.charge.id]);
  assert.equal((await one('SELECT tr_available_count($1) AS n', [ev.id])).n, '10');
});

test('PT422: idempotency key reused, too many seats', async () => {
  const ev = await event({ maxSeats: 2 });
  const req = buy(ev, [ev.seats[0]]);
  await checkout(pool, req, paid());
  const reused = await checkout(pool, { ...req, seatIds: [ev.seats[1]] }, paid());
  assert.deepEqual([reused.answer.reason, reused.answer.status], ['checkout_reused', 422]);
  const many = await checkout(pool, buy(ev, ev.seats.slice(1, 4)), paid());
  assert.deepEqual([many.answer.reason, many.answer.status], ['too_many_seats', 422]);
});

test('PT403 user mismatch: the connection speaks for another user (JWT claims)', async () => {
  const ev = await event();
  // what PostgREST sets per request; here for every connection of the pool
  const jwtPool = newPool({ options: '-c request.jwt.claims={"sub":"mallory"}' });
  const r = await checkout(jwtPool, buy(ev, [ev.seats[0]]), paid());
  assert.deepEqual([r.answer.reason, r.answer.status], ['wrong_user', 403]);
});

test('PT503 lock service unavailable: Redis locks on, Redis down, deny', async () => {
  const ev = await event();
  const port = await new Promise((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
  const redisPool = newPool({ options: `-c ticketres.redis_url=redis://127.0.0.1:${port} -c ticketres.redis_on_error=deny` });
  const r = await checkout(redisPool, buy(ev, [ev.seats[0]]), paid());
  assert.deepEqual([r.answer.reason, r.answer.status], ['unavailable', 503]);
  assert.equal(await seatStatus(ev.seats[0]), 'available');
});

test('errors outside the catalogue are not given a buyer answer', async () => {
  assert.equal(answerFor({ code: '57014', message: 'canceling statement due to statement timeout' }), null);
  assert.equal(answerFor({ code: 'PT409', message: 'event has reservations' }), null);
  await assert.rejects(checkout(newPool({ port: 1 }), { checkoutId: 'x', eventId: randomUUID(), userId: 'a', seatIds: [] }, paid()), /ECONNREFUSED/);
});

test('hot seat: 100 concurrent checkouts of one seat, one purchase, 99 "taken"', async (t) => {
  const ev = await event();
  const pay = paid();
  const started = Date.now();
  const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) =>
    checkout(pool, buy(ev, [ev.seats[0]], { userId: `buyer-${i}` }), pay)));
  const ms = Date.now() - started;
  const failures = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
  assert.deepEqual(failures, [], 'no unexpected error');
  const outcomes = results.map((r) => r.value);
  const purchased = outcomes.filter((o) => o.outcome === 'purchased');
  const taken = outcomes.filter((o) => o.outcome === 'rejected' && o.answer.reason === 'taken');
  const retries = outcomes.reduce((s, o) => s + o.busyRetries, 0);
  t.diagnostic(`hot seat: ${purchased.length} purchase (after ${purchased[0]?.busyRetries} busy retries), ${taken.length} taken, ${retries} busy retries in all, ${ms} ms`);
  assert.equal(purchased.length, 1);
  assert.equal(taken.length, 99);
  assert.equal(await seatStatus(ev.seats[0]), 'confirmed');
  assert.equal((await one("SELECT count(*) AS n FROM ticketres.reservations WHERE event_id = $1 AND status IN ('pending', 'confirmed')", [ev.id])).n, '1');
  assert.deepEqual(await q('SELECT * FROM ticketres.check_invariants() WHERE violations > 0'), [], 'every invariant holds');
});
