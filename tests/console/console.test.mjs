// The console end to end, in Debian's Chromium driven by playwright-core, against a
// real hub started by the Rust fixture (tests/src/bin/console-fixture.rs).
//
//   node console.test.mjs <fixture executable> <screenshot directory>
//
// A dispatcher redeems a one-time code, opens an incident from a call and assigns two
// volunteers; the volunteers' devices sync their (disagreeing) work and the open page
// shows it without a reload; a team lead signs in with a credential and confirms; the
// incident is exported as a bundle that verifies; the dispatcher notifies the caller
// and closes. Along the way:
// CSP and cookie flags, no caller data in any URL, list or export, Spanish, a tablet.
// Prints one line per check, then "N passed, M failed"; exits non-zero on failure.

import { spawn } from 'node:child_process';
import { readFile, mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const [fixturePath, shotsDir] = process.argv.slice(2);
if (!fixturePath || !shotsDir) {
  console.error('usage: node console.test.mjs <fixture executable> <screenshot directory>');
  process.exit(2);
}

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
const CALLER_NAME = 'Rosa Delgado';
const CALLER_PHONE = '+1 314 555 0199';
const PHONE_DIGITS = '3145550199';
const PLACE = 'Cherokee St & S Jefferson Ave';

// --- A tiny harness ------------------------------------------------------------------
let passed = 0;
let failed = 0;
let stopped = false;

async function check(name, fn) {
  if (stopped) {
    failed += 1;
    console.log(`SKIP ${name} (an earlier step failed)`);
    return;
  }
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}\n     ${String(err && err.stack || err).split('\n').slice(0, 4).join('\n     ')}`);
  }
}

/** A step later steps depend on: if it fails, the rest are skipped (and counted failed). */
async function step(name, fn) {
  const before = failed;
  await check(name, fn);
  if (failed > before) stopped = true;
}

// Whatever goes wrong outside a check (the browser does not start, the fixture dies)
// still ends with the summary line and a failing exit code.
for (const event of ['uncaughtException', 'unhandledRejection']) {
  process.on(event, (err) => {
    console.log(`FAIL ${String(err && err.stack || err).split('\n').slice(0, 4).join('\n     ')}`);
    console.log(`${passed} passed, ${failed + 1} failed`);
    process.exit(1);
  });
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

// --- The fixture: a real hub, and the volunteers' devices ----------------------------
const fixture = spawn(fixturePath, [], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: fixture.stdout });
const pending = [];
lines.on('line', (line) => {
  const waiter = pending.shift();
  if (waiter) waiter(JSON.parse(line));
});
function nextLine(timeoutMs = 120000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the fixture did not answer in time')), timeoutMs);
    pending.push((value) => { clearTimeout(timer); resolve(value); });
  });
}
async function command(cmd) {
  fixture.stdin.write(`${JSON.stringify(cmd)}\n`);
  return nextLine();
}

const hub = await nextLine();
const base = `${hub.url}/console/`;
const [ana, ben] = hub.volunteers;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

await mkdir(shotsDir, { recursive: true });
const problems = [];
const requested = [];

async function newPage(viewport = { width: 1440, height: 1000 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, locale: 'en-US' });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('console', (msg) => {
    if (msg.type() === 'error' || /Content Security Policy/i.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('request', (req) => requested.push(req.url()));
  return { context, page };
}

async function shot(page, name) {
  await page.waitForTimeout(150);
  await page.screenshot({ path: `${shotsDir}/${name}.png`, fullPage: true });
}

async function signInWithCredential(page, credential) {
  await page.goto(base);
  await page.fill('#credential', credential);
  await page.click('#sign-in');
  await page.waitForSelector('h1.page-title');
}

async function expectStatus(page, status, timeout = 20000) {
  await page.waitForSelector(`.page[data-status="${status}"]`, { timeout });
}

const { context: desk, page } = await newPage();
let dispatcherCredential = null;
let incidentId = null;

// --- Sign-in ------------------------------------------------------------------------
await check('the console is served with a strict CSP and safe headers', async () => {
  const response = await page.goto(base);
  const headers = response.headers();
  assert(headers['content-security-policy'] === CSP, `CSP is ${headers['content-security-policy']}`);
  assert(headers['x-content-type-options'] === 'nosniff', 'nosniff');
  assert(headers['referrer-policy'] === 'no-referrer', 'referrer policy');
  await page.waitForSelector('#credential');
});

await check('a volunteer credential cannot sign in', async () => {
  await page.fill('#credential', hub.volunteer_credential);
  await page.click('#sign-in');
  const error = await page.waitForSelector('.form-error:not([hidden])');
  const text = await error.textContent();
  assert(/cannot sign in/.test(text), `error shown: ${text}`);
  await shot(page, '01-sign-in');
});

await step('a dispatcher redeems a one-time code and is shown a credential once', async () => {
  await page.fill('#credential', '');
  await page.click('#tab-code');
  await page.fill('#code', hub.dispatcher_code.toLowerCase());
  await page.click('#sign-in');
  const field = await page.waitForSelector('#new-credential');
  dispatcherCredential = await field.inputValue();
  assert(/^[0-9a-f]{64}$/.test(dispatcherCredential), 'a 64-hex credential');
  await shot(page, '02-credential-once');
  await page.check('#saved');
  await page.click('#continue');
  await page.waitForSelector('h1.page-title');
  assert((await page.textContent('#who')).includes('Dispatcher'), 'signed in as dispatcher');
});

await check('the session cookie is HttpOnly, SameSite=Strict and only for /console', async () => {
  const cookies = await desk.cookies();
  const session = cookies.find((c) => c.name === 'testigo_console');
  assert(session, 'a session cookie');
  assert(session.httpOnly && session.sameSite === 'Strict' && session.path === '/console', JSON.stringify(session));
  assert(!(await page.evaluate(() => document.cookie)).includes('testigo_console'), 'scripts cannot read it');
});

await check('a change without the CSRF token is refused', async () => {
  const status = await page.evaluate(async () => {
    const r = await fetch('/console/api/incidents', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ place_text: 'x', urgency: 'low' }) });
    return r.status;
  });
  assert(status === 403, `status ${status}`);
});

// --- A call comes in ----------------------------------------------------------------
await step('the dispatcher opens an incident from a call', async () => {
  await page.click('#new-incident');
  await page.fill('#place', PLACE);
  await page.fill('#lat', '38.6270');
  await page.fill('#lon', '-90.1994');
  await page.fill('#description', 'Two unmarked SUVs, agents in tactical vests stopping people at the bus stop.');
  await page.click('.urgency-choice-critical');
  await page.fill('#team', hub.team);
  await page.fill('#caller-name', CALLER_NAME);
  await page.fill('#caller-phone', CALLER_PHONE);
  await shot(page, '03-new-incident');
  await page.click('#open-incident');
  await page.waitForURL(/#\/incidents\/inc_[0-9a-f]{32}$/);
  incidentId = page.url().match(/inc_[0-9a-f]{32}/)[0];
  await page.waitForSelector('#incident-title');
  assert((await page.textContent('#incident-title')) === PLACE, 'the incident page shows the place');
});

await step('the dispatcher assigns both volunteers', async () => {
  for (const v of [ana, ben]) {
    await page.waitForSelector(`#assign-device option[value="${v.device_id}"]`, { state: 'attached' });
    await page.selectOption('#assign-device', v.device_id);
    await page.click('#assign-device-submit');
    await page.waitForSelector(`#assigned [title="${v.device_id}"]`);
  }
  await expectStatus(page, 'dispatched');
});

await check('the dispatcher corrects the report after a second call', async () => {
  await page.click('#edit-report');
  await page.fill('#edit-description', 'Second caller: two SUVs and a white van; agents in tactical vests at the bus stop.');
  await page.click('#edit-report-save');
  await page.waitForFunction(() => document.getElementById('report').textContent.includes('white van'));
  assert(await page.isHidden('#edit-report-form'), 'the form closes');
  assert((await page.textContent('#timeline')).includes('Report corrected'), 'the correction is in the timeline');
});

await check('the incident list shows the call without any caller data', async () => {
  await page.click('.back');
  await page.waitForSelector(`tr[data-id="${incidentId}"]`);
  const html = await page.content();
  assert(!html.includes(CALLER_NAME) && !html.replace(/\D/g, '').includes(PHONE_DIGITS), 'caller data in the list page');
  const list = await page.evaluate(async () => (await fetch('/console/api/incidents')).text());
  assert(!list.includes(CALLER_NAME) && !list.includes('555'), 'caller data in the list JSON');
  await shot(page, '04-list');
});

await check('the filters narrow the list', async () => {
  await page.selectOption('#filter-urgency', 'low');
  await page.waitForSelector('.empty:not([hidden])');
  await page.selectOption('#filter-urgency', 'critical');
  await page.waitForSelector(`tr[data-id="${incidentId}"]`);
  await page.selectOption('#filter-status', 'closed');
  await page.waitForSelector('.empty:not([hidden])');
  await page.selectOption('#filter-status', 'active');
  await page.waitForSelector(`tr[data-id="${incidentId}"]`);
});

// --- The field syncs; the page follows ------------------------------------------------
await step('volunteers sync their work and the open page shows it without a reload', async () => {
  await page.click(`tr[data-id="${incidentId}"] .row-link`);
  await page.waitForSelector('#incident-title');
  await page.evaluate(() => { window.__sameDocument = 'yes'; });
  const reply = await command({ cmd: 'field', incident: incidentId });
  assert(reply.ok, `field work: ${JSON.stringify(reply)}`);
  await expectStatus(page, 'disputed');
  assert(await page.evaluate(() => window.__sameDocument) === 'yes', 'the page was reloaded');
  await page.waitForSelector('#disputed');
});

await check('the checklists are side by side with the disagreements highlighted', async () => {
  await page.waitForSelector('#disagreements');
  const rows = await page.$$eval('#checklist tr.disagree', (trs) => trs.map((tr) => tr.dataset.question));
  assert(rows.includes('enforcement_present'), `disagreeing rows: ${rows}`);
  assert(rows.includes('proposed_determination'), `disagreeing rows: ${rows}`);
  const authors = await page.$$eval('#checklist thead th', (ths) => ths.length - 1);
  assert(authors === 2, `${authors} author columns`);
});

await check('the map is drawn from the records, with distances', async () => {
  await page.waitForFunction(() => {
    const img = document.getElementById('map');
    return img && img.complete && img.naturalWidth > 0;
  });
  const legend = await page.$$eval('#map-legend tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert(legend.length === 5, `5 located records, got ${legend.length}`);
  assert(legend.some((row) => /\d+ m/.test(row)), 'distances in the legend');
  const svg = await page.evaluate(async (src) => (await fetch(src)).text(), await page.getAttribute('#map', 'src'));
  assert(svg.includes('Reported place') && /\d+ m</.test(svg), 'the SVG labels the place and distances');
  const timeline = await page.textContent('#timeline');
  assert(timeline.includes('Checked in') && timeline.includes('utility crew'), 'the timeline has check-ins and observations');
});

await check('the dispatcher sees the caller contact only on request', async () => {
  assert(!(await page.content()).includes(CALLER_PHONE), 'phone shown before asked');
  await page.click('#show-caller');
  assert((await page.textContent('#caller-phone')) === CALLER_PHONE, 'the phone is shown');
  await shot(page, '05-incident-disputed');
  await page.click('#show-caller');
  assert(!(await page.content()).includes(CALLER_PHONE), 'hidden again');
  assert(await page.isHidden('#confirm-form') || !(await page.$('#confirm-form')), 'a dispatcher cannot confirm');
  assert(await page.isVisible('#only-leads'), 'and is told who can');
});

// --- The team lead confirms ---------------------------------------------------------
await check('sign out ends the session', async () => {
  await page.click('#sign-out');
  await page.waitForSelector('#credential');
  const status = await page.evaluate(async () => (await fetch('/console/api/incidents')).status);
  assert(status === 401, `after sign-out: ${status}`);
});

const { context: laptop, page: lead } = await newPage();
await step('the team lead signs in with a credential and confirms the determination', async () => {
  await signInWithCredential(lead, hub.lead_credential);
  assert((await lead.textContent('#who')).includes('Team lead'), 'signed in as team lead');
  await lead.click(`tr[data-id="${incidentId}"] .row-link`);
  await expectStatus(lead, 'disputed');
  assert(!(await lead.$('#caller-card')), 'no caller contact for a team lead');
  await lead.selectOption('#confirm-determination', 'verified');
  await lead.selectOption('#confirm-confidence', 'high');
  await lead.fill('#confirm-note', 'Photos match Ana’s count; Ben arrived after they left.');
  await lead.click('#confirm-submit');
  await expectStatus(lead, 'confirmed');
  const reply = await command({ cmd: 'status', incident: incidentId });
  assert(reply.status === 'confirmed' && reply.confirmations === 1, `hub: ${JSON.stringify(reply)}`);
  await shot(lead, '06-incident-confirmed');
});

await check('the export is an evidence bundle that verifies, without caller contact', async () => {
  const [download] = await Promise.all([lead.waitForEvent('download'), lead.click('#export')]);
  const path = await download.path();
  const text = await readFile(path, 'utf8');
  const bundle = JSON.parse(text);
  assert(bundle.format === 'testigo-evidence/3', `format ${bundle.format}`);
  assert(bundle.incidents.length === 1 && bundle.incidents[0].id === incidentId, 'the incident');
  assert(bundle.incidents[0].changes.length > 5, 'with its signed changes');
  assert(!text.includes(CALLER_NAME) && !text.replace(/\D/g, '').includes(PHONE_DIGITS), 'caller data in the export');
  const verdict = await command({ cmd: 'verify', path });
  assert(verdict.ok && verdict.signatures > 0, `testigo verify: ${JSON.stringify(verdict)}`);
});

await check('Spanish: every string has a translation and the page switches', async () => {
  const missing = await lead.evaluate(async () => (await import('/console/i18n.js')).missingTranslations());
  assert(missing.length === 0, `missing: ${missing}`);
  await lead.click('[data-lang="es"]');
  await lead.waitForSelector('text=Lista de verificación');
  assert((await lead.textContent('.page .pill.status-confirmed')).includes('Confirmado'), 'status in Spanish');
  assert(await lead.evaluate(() => document.documentElement.lang) === 'es', 'lang attribute');
  await shot(lead, '07-incidente-es');
  await lead.click('[data-lang="en"]');
});

await check('a tablet gets the same pages without sideways scrolling', async () => {
  const { context: tablet, page: pad } = await newPage({ width: 820, height: 1180 });
  await signInWithCredential(pad, hub.lead_credential);
  assert(await pad.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'list fits');
  await shot(pad, '08-tablet-list');
  await pad.click(`tr[data-id="${incidentId}"] .row-link`);
  await expectStatus(pad, 'confirmed');
  assert(await pad.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'incident fits');
  await shot(pad, '09-tablet-incident');
  await tablet.close();
});

// --- Back at the desk -----------------------------------------------------------------
await step('the dispatcher signs back in with the saved credential, notifies the caller and closes', async () => {
  await signInWithCredential(page, dispatcherCredential);
  await page.click(`tr[data-id="${incidentId}"] .row-link`);
  await expectStatus(page, 'confirmed');
  await page.click('#notify-caller');
  await expectStatus(page, 'caller_notified');
  await page.click('#close-incident');
  await page.click('#close-yes');
  await expectStatus(page, 'closed');
});

await check('the team lead’s open page followed along', async () => {
  await expectStatus(lead, 'closed');
});

await check('caller contact never reached a URL, a document or the change log', async () => {
  const leaked = requested.filter((u) => decodeURIComponent(u).replace(/\D/g, '').includes(PHONE_DIGITS) || decodeURIComponent(u).includes(CALLER_NAME));
  assert(leaked.length === 0, `in URLs: ${leaked}`);
  for (const needle of [CALLER_PHONE, CALLER_NAME]) {
    const reply = await command({ cmd: 'leak-check', needle });
    assert(reply.ok, `${needle} found in the hub's documents: ${JSON.stringify(reply)}`);
  }
});

await check('no CSP violation, script error or failed request on any page', async () => {
  const unexpected = problems.filter((p) => !/status of 40[134]/.test(p));
  assert(unexpected.length === 0, unexpected.join('\n'));
});

await laptop.close();
await desk.close();
await browser.close();
fixture.stdin.write('{"cmd":"quit"}\n');
fixture.stdin.end();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
