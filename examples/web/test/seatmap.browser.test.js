// The seat-map page in headless Chromium (Playwright), as two buyers at once.
// Run by test/suites/72_browser.sh, which starts PostgREST and the page
// server and passes, in the environment:
//   TR_PAGE_URL   the page (…/web/index.html)      TR_API     PostgREST URL
//   TR_EVENT      the event id                     TR_JWT_ALICE, TR_JWT_BOB
//   TR_SHOTS      directory for the screenshots    TR_PSQL    psql command line for the database
// Each step checks the page (DOM) and the database. Top-level tests only,
// run in order (one file, no concurrency): one TAP "ok N" line per step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { answerFor } from '../../node/lib/answers.js';

const env = (k) => process.env[k] ?? assert.fail(`${k} is not set`);
const TAKEN = answerFor({ code: 'PT409', message: 'seat unavailable' }).text;
const [psql, ...psqlArgs] = env('TR_PSQL').split(' ');
const sql = (q) => execFileSync(psql, [...psqlArgs, '-XAt', '-c', q], { encoding: 'utf8' }).trim();
const seatRow = (label) => sql(`SELECT s.status::text || ' ' || coalesce(r.user_id, '-') || ' ' || coalesce(r.status::text, '-')
                                  FROM ticketres.seats s LEFT JOIN ticketres.reservations r ON r.id = s.reservation_id
                                 WHERE s.event_id = '${env('TR_EVENT')}' AND s.label = '${label}'`);

let browser;
const pages = {}; // alice, bob
const pageErrors = [];
const HOT = 'A-3-6';

const seat = (who, label) => pages[who].locator(`circle.seat[data-label="${label}"]`);
const statusOf = (who, label) => seat(who, label).getAttribute('data-status');
// wait until the seat is drawn with this status (the map redraws after each call)
const seatBecomes = (who, label, status, timeout = 10000) =>
  pages[who].waitForSelector(`circle.seat[data-label="${label}"][data-status="${status}"]`, { timeout });
const message = async (who) => {
  const m = pages[who].locator('#message');
  return { reason: await m.getAttribute('data-reason'), text: await m.textContent() };
};
// the message after an action: wait for the reason, then read it
const messageFor = async (who, reason) => {
  await pages[who].waitForSelector(`#message[data-reason="${reason}"]`, { timeout: 10000 });
  return message(who);
};
const shot = async (who, name) => {
  const path = `${env('TR_SHOTS')}/${name}.png`;
  await pages[who].screenshot({ path, fullPage: true });
  return statSync(path).size;
};
const countdownSeconds = async (who) => {
  const t = await pages[who].locator('.hold .countdown').first().textContent();
  const m = /^(\d+):(\d\d) left$/.exec(t);
  assert.ok(m, `countdown text: ${t}`);
  return Number(m[1]) * 60 + Number(m[2]);
};

before(async () => {
  // Chromium's sandbox needs user namespaces, which are not there for root
  // (the tests run as root on CI machines); the page is our own, from
  // 127.0.0.1, so running it without the sandbox risks nothing here.
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  browser = await chromium.launch({ executablePath: process.env.TR_CHROMIUM ?? '/usr/bin/chromium', args });
  for (const who of ['alice', 'bob']) {
    const ctx = await browser.newContext({ viewport: { width: 1000, height: 400 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${who}: ${e.message}`));
    // Chromium logs every 4xx answer as a console error: those are the
    // catalogue's answers the page shows, not faults
    page.on('console', (m) => m.type() === 'error' && !/status of 4\d\d/.test(m.text()) && pageErrors.push(`${who}: ${m.text()}`));
    const hash = new URLSearchParams({ api: env('TR_API'), event: env('TR_EVENT'), jwt: env(`TR_JWT_${who.toUpperCase()}`) });
    await page.goto(`${env('TR_PAGE_URL')}#${hash}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
    pages[who] = page;
  }
});

after(async () => {
  await browser?.close();
});

test('both pages draw the whole map from PostgREST (CORS allows the page server)', async () => {
  const total = Number(sql(`SELECT count(*) FROM ticketres.seats WHERE event_id = '${env('TR_EVENT')}'`));
  const free = sql(`SELECT api.tr_available_count('${env('TR_EVENT')}')`);
  for (const who of ['alice', 'bob']) {
    assert.equal(await pages[who].locator('circle.seat').count(), total, `${who}: every seat drawn`);
    assert.equal(await pages[who].locator('circle.seat[data-status="available"]').count(), Number(free));
    assert.equal(await pages[who].locator('#available').textContent(), free);
    assert.equal(await pages[who].locator('#who').textContent(), `signed in as ${who}`);
  }
  assert.ok(await pages.alice.locator('circle.seat[data-status="confirmed"]').count() > 0, 'seats sold before are drawn sold');
  assert.equal(await statusOf('alice', HOT), 'available');
});

test(`alice clicks ${HOT}: it is held for her, blue, with a countdown`, async () => {
  await seat('alice', HOT).click();
  await seatBecomes('alice', HOT, 'mine');
  const m = await messageFor('alice', 'held');
  assert.match(m.text, new RegExp(`^${HOT} is held for you until .+\\. Confirm to buy it\\.$`));
  assert.equal(seatRow(HOT), 'reserved alice pending');
  assert.equal(await pages.alice.locator('.hold .seats').textContent(), HOT);
  const first = await countdownSeconds('alice');
  assert.ok(first > 14 * 60 && first <= 15 * 60, `a 15-minute hold: ${first} s left`);
  await pages.alice.waitForTimeout(2100);
  const later = await countdownSeconds('alice');
  assert.ok(later < first && later >= first - 10, `the countdown runs: ${first} s, then ${later} s`);
  assert.ok(await shot('alice', 'alice-held') > 10000);
});

test(`bob's map shows ${HOT} held by someone else`, async () => {
  await pages.bob.click('#refresh');
  await seatBecomes('bob', HOT, 'reserved');
  assert.ok(await shot('bob', 'bob-held') > 10000);
});

test(`bob clicks ${HOT}: "taken, pick another", and nothing changes`, async () => {
  await seat('bob', HOT).click();
  const m = await messageFor('bob', 'taken');
  assert.equal(m.text, `${HOT}: ${TAKEN}`);
  assert.equal(seatRow(HOT), 'reserved alice pending');
  assert.equal(sql("SELECT count(*) FROM ticketres.reservations WHERE user_id = 'bob'"), '0');
  assert.equal(await statusOf('bob', HOT), 'reserved');
  assert.ok(await shot('bob', 'bob-taken') > 10000);
});

test('bob holds another seat and cancels it: the seat is free again', async () => {
  await seat('bob', 'A-3-7').click();
  await seatBecomes('bob', 'A-3-7', 'mine');
  assert.equal(seatRow('A-3-7'), 'reserved bob pending');
  await pages.bob.locator('.hold button.cancel').click();
  assert.equal((await messageFor('bob', 'released')).text, 'Released A-3-7.');
  await seatBecomes('bob', 'A-3-7', 'available');
  assert.equal(seatRow('A-3-7'), 'available - -');
  assert.equal(sql("SELECT string_agg(status::text, ',') FROM ticketres.reservations WHERE user_id = 'bob'"), 'cancelled');
  assert.equal(await pages.bob.locator('.hold').count(), 0);
});

test(`alice confirms: ${HOT} is hers, sold`, async () => {
  await pages.alice.locator('.hold button.confirm').click();
  assert.equal((await messageFor('alice', 'bought')).text, `Bought! ${HOT} is yours.`);
  await seatBecomes('alice', HOT, 'sold-mine');
  assert.equal(seatRow(HOT), 'confirmed alice confirmed');
  assert.equal(await pages.alice.locator('.hold').count(), 0);
  assert.ok(await shot('alice', 'alice-bought') > 10000);
});

test(`bob's map shows ${HOT} sold; his click is still "taken, pick another"`, async () => {
  await pages.bob.click('#refresh');
  await seatBecomes('bob', HOT, 'confirmed');
  await seat('bob', HOT).click();
  await pages.bob.waitForFunction((t) => document.getElementById('message').textContent === t, `${HOT}: ${TAKEN}`, { timeout: 10000 });
  assert.equal(seatRow(HOT), 'confirmed alice confirmed');
  assert.ok(await shot('bob', 'bob-sold') > 10000);
});

test('a short hold runs out on the page: the countdown ends, the seat is free again', async () => {
  const ev = env('TR_EVENT');
  sql(`SELECT api.tr_reserve('${ev}', 'alice', ARRAY(SELECT id FROM ticketres.seats WHERE event_id = '${ev}' AND label = 'A-4-4'),
                             'short-hold', interval '8 seconds')`);
  await pages.alice.click('#refresh');
  await seatBecomes('alice', 'A-4-4', 'mine');
  assert.match(await pages.alice.locator('.hold .countdown').textContent(), /^0:0[0-8] left$/);
  // the hold ends within 8 s and the page redraws every 5 s: up to 13 s,
  // and more on a loaded machine
  await seatBecomes('alice', 'A-4-4', 'available', 30000);
  assert.equal(await pages.alice.locator('.hold').count(), 0);
  // lazily expired: the row still says reserved, every count says free
  assert.equal(seatRow('A-4-4'), 'reserved alice pending');
  // the page reads the count and the map in two calls: the one that drew the
  // seat free may follow a count read a moment before the hold ended, so wait
  // for the next refresh to agree
  const count = sql(`SELECT api.tr_available_count('${ev}')`);
  await pages.alice.waitForFunction((c) => document.getElementById('available').textContent === c, count, { timeout: 15000 });
});

test('no script errors on either page, and the invariants hold', async () => {
  assert.deepEqual(pageErrors, []);
  assert.equal(sql('SELECT count(*) FROM ticketres.check_invariants() WHERE violations > 0'), '0');
});
