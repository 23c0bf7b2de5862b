// seatmap.js — the seat map of one event over PostgREST with postgrest-js:
// draw the seats (SVG) coloured by status, hold a seat on click, count the
// hold down to its expires_at, confirm or cancel it, and say what went wrong
// in the buyer's words (the catalogue shared with the Node service).
//
// Configuration comes from the URL hash: api (PostgREST URL), event (id) and
// jwt (a user's token; its "sub" is the buyer). Without a jwt the map is
// read-only (anonymous may read seats, not hold them).
import { PostgrestClient } from '@supabase/postgrest-js';
import { answerFor } from '../node/lib/answers.js';

const conf = new URLSearchParams(location.hash.slice(1));
const EVENT = conf.get('event');
const JWT = conf.get('jwt');
const USER = JWT ? JSON.parse(atob(JWT.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).sub : null;
const db = new PostgrestClient(conf.get('api'), { headers: JWT ? { Authorization: `Bearer ${JWT}` } : {} });

const REFRESH_MS = 5000;
const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
let seats = []; // tr_list_seats rows
let holds = new Map(); // my pending reservations of this event, by id
let held = new Set(); // seat ids in them
let mine = new Set(); // seat ids I bought

// --- talking to PostgREST ----------------------------------------------------

// One call; `seat busy` (another buyer's call is on the seat this very
// moment) is retried a few times with jittered backoff, same arguments, so
// the same idempotency key.
async function rpc(fn, args, { single = true, get = false } = {}) {
  for (let n = 1; ; n++) {
    let q = db.rpc(fn, args, { get });
    if (single) q = q.single();
    const { data, error } = await q;
    if (!error) return { data };
    if (!answerFor(error)?.retry || n >= 4) return { error };
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(400, 25 * 2 ** n)));
  }
}

// What the buyer reads for an error: the catalogue, then PostgREST's own.
function words(error) {
  const a = answerFor(error);
  if (a) return a;
  if (/^PGRST30/.test(error.code ?? '')) return { reason: 'signed_out', text: 'Your session has ended; please sign in again.' };
  if (error.code === '42501') return { reason: 'signed_out', text: 'Please sign in to hold seats.' };
  return { reason: 'error', text: `Something went wrong (${error.message}); please try again.` };
}

function say(text, { ok = false, reason = '' } = {}) {
  const m = $('message');
  m.textContent = text;
  m.className = ok ? 'ok' : '';
  m.dataset.reason = reason;
}

// --- state -------------------------------------------------------------------

async function load() {
  const [list, count, res] = await Promise.all([
    rpc('tr_list_seats', { event_id: EVENT }, { single: false, get: true }),
    rpc('tr_available_count', { event_id: EVENT }, { single: false, get: true }),
    USER ? rpc('tr_list_reservations', { lim: 100 }, { single: false, get: true }) : { data: [] },
  ]);
  const failed = list.error ?? count.error ?? res.error;
  if (failed) return say(words(failed).text, { reason: words(failed).reason });
  seats = list.data;
  const now = Date.now();
  const ofEvent = res.data.filter((r) => r.event_id === EVENT);
  holds = new Map(ofEvent.filter((r) => r.status === 'pending' && Date.parse(r.expires_at) > now).map((r) => [r.id, r]));
  held = new Set([...holds.values()].flatMap((r) => r.seat_ids));
  mine = new Set(ofEvent.filter((r) => r.status === 'confirmed').flatMap((r) => r.seat_ids));
  $('available').textContent = count.data;
  drawMap();
  drawHolds();
}

// a seat's colour: its status, from the buyer's point of view (the public
// map does not say whose a hold is; the buyer's own reservations do)
function shown(s) {
  if (s.status === 'reserved' && held.has(s.id)) return 'mine';
  if (s.status === 'confirmed' && mine.has(s.id)) return 'sold-mine';
  return s.status;
}

const label = (id) => seats.find((s) => s.id === id)?.label ?? id;
const money = (minor) => (Number(minor) / 100).toFixed(2);

// --- drawing -------------------------------------------------------------------

const natural = (a, b) => String(a).localeCompare(String(b), undefined, { numeric: true });

// sections one under the other, a row per line, seats by number; the stage on top
function drawMap() {
  const bySection = new Map();
  for (const s of seats) {
    const sec = s.section ?? '';
    if (!bySection.has(sec)) bySection.set(sec, new Map());
    const rows = bySection.get(sec);
    if (!rows.has(s.row_label)) rows.set(s.row_label, []);
    rows.get(s.row_label).push(s);
  }
  const STEP = 26, LEFT = 44, TOP = 44;
  const widest = Math.max(1, ...seats.map((s) => s.seat_number ?? 1));
  const svg = el('svg', { width: LEFT + widest * STEP + 10, role: 'img' });
  svg.append(el('rect', { x: LEFT, y: 8, width: widest * STEP - 6, height: 18, rx: 4, fill: '#dde3e9' }),
             text('STAGE', LEFT + (widest * STEP) / 2 - 18, 21, 'stage'));
  let y = TOP;
  for (const [sec, rows] of [...bySection].sort(([a], [b]) => natural(a, b))) {
    svg.append(text(`Section ${sec}`, 4, y + 4, 'rowlabel'));
    y += 22;
    for (const [row, list] of [...rows].sort(([a], [b]) => natural(a, b))) {
      svg.append(text(row, 8, y + 4, 'rowlabel'));
      for (const s of list) {
        const c = el('circle', { class: 'seat', cx: LEFT + (s.seat_number - 1) * STEP + 10, cy: y, r: 10,
                                 'data-id': s.id, 'data-label': s.label, 'data-status': shown(s) });
        c.append(el('title', {}, `${s.label} · ${money(s.price)} · ${shown(s)}`));
        svg.append(c);
      }
      y += STEP;
    }
    y += 10;
  }
  svg.setAttribute('height', y);
  svg.addEventListener('click', (e) => e.target.dataset?.id && hold(e.target.dataset.id));
  $('map').replaceChildren(svg);
}

function el(name, attrs, content) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (content !== undefined) e.textContent = content;
  return e;
}
const text = (t, x, y, cls) => el('text', { x, y, class: cls }, t);

function drawHolds() {
  const box = $('holds');
  if (holds.size === 0) return box.replaceChildren(Object.assign(document.createElement('em'), { textContent: 'Click a green seat to hold it.' }));
  box.replaceChildren(...[...holds.values()].map((r) => {
    const row = document.createElement('div');
    row.className = 'hold';
    row.dataset.id = r.id;
    row.innerHTML = '<span class="seats"></span><span class="countdown"></span><span class="amount"></span>'
      + '<button class="confirm">Confirm</button><button class="cancel">Cancel</button>';
    row.querySelector('.seats').textContent = r.seat_ids.map(label).join(', ');
    row.querySelector('.amount').textContent = money(r.total_amount);
    row.querySelector('.countdown').dataset.expires = r.expires_at;
    row.querySelector('.confirm').onclick = () => finish('tr_confirm', r);
    row.querySelector('.cancel').onclick = () => finish('tr_cancel', r);
    return row;
  }));
  tick();
}

// every second: each hold's time left; a hold that ran out is gone
function tick() {
  let ended = false;
  for (const c of document.querySelectorAll('.countdown')) {
    const left = Math.floor((Date.parse(c.dataset.expires) - Date.now()) / 1000);
    if (left <= 0) ended = true;
    c.textContent = left > 0 ? `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} left` : 'expired';
  }
  if (ended) load();
}

// --- actions -------------------------------------------------------------------

async function hold(seatId) {
  const s = seats.find((x) => x.id === seatId);
  if (!USER) return say('Please sign in to hold seats.', { reason: 'signed_out' });
  if (shown(s) === 'mine') return say(`You already hold ${s.label}: confirm or cancel it on the right.`, { reason: 'mine' });
  const { data, error } = await rpc('tr_reserve', { event_id: EVENT, seat_ids: [seatId], idempotency_key: crypto.randomUUID() });
  if (error) say(`${s.label}: ${words(error).text}`, { reason: words(error).reason });
  else say(`${s.label} is held for you until ${new Date(data.expires_at).toLocaleTimeString()}. Confirm to buy it.`, { ok: true, reason: 'held' });
  await load();
}

async function finish(fn, r) {
  const { error } = await rpc(fn, { reservation_id: r.id });
  const seatsText = r.seat_ids.map(label).join(', ');
  if (error) say(`${seatsText}: ${words(error).text}`, { reason: words(error).reason });
  else if (fn === 'tr_confirm') say(`Bought! ${seatsText} is yours.`, { ok: true, reason: 'bought' });
  else say(`Released ${seatsText}.`, { ok: true, reason: 'released' });
  await load();
}

// --- start -----------------------------------------------------------------------

$('who').textContent = USER ? `signed in as ${USER}` : 'not signed in (read-only)';
$('refresh').onclick = () => load();
const { data: ev, error } = await rpc('tr_get_event', { event_id: EVENT }, { get: true });
if (error) say(words(error).text, { reason: words(error).reason });
else {
  $('event-name').textContent = ev.name;
  $('event-when').textContent = `${new Date(ev.starts_at).toLocaleString()}${ev.venue ? ` · ${ev.venue}` : ''}`;
}
await load();
setInterval(tick, 1000);
setInterval(load, REFRESH_MS);
document.body.dataset.ready = 'true';
