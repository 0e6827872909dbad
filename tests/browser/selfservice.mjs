// The self-service web as a person uses it, in Debian's Chromium (playwright-core, never a
// downloaded browser): sign in with the development sign-in (the code is read from the
// server's console log), read the overview, the consumption chart at two resolutions, the
// peak view and an invoice, download its PDF, change the invoice channel and the contact
// details, switch language, sign out; then the back-office (local and OpenID sign-in of staff,
// the 360° view with readings, the correction preview). axe-core checks every page (no serious or critical
// violation of WCAG 2.1/2.2 A and AA), and each page is photographed, on a desktop and on a
// phone, into SCREENSHOTS.
//
//   BASE=http://127.0.0.1:PORT LOG=server.log CUSTOMER=K000001 SCREENSHOTS=dir node selfservice.mjs

import { createHmac } from 'node:crypto';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const base = process.env.BASE;
const log = process.env.LOG;
const customer = process.env.CUSTOMER;
const shots = process.env.SCREENSHOTS;
mkdirSync(shots, { recursive: true });

const failures = [];
function check(condition, message) {
  if (!condition) failures.push(message);
  console.log(`${condition ? 'ok  ' : 'FAIL'} ${message}`);
}

async function axe(page, name) {
  // The pages' CSP allows no script at all: axe is evaluated through the browser's debugging
  // protocol, which the page's policy does not govern.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () =>
    await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) {
    console.log(`  axe ${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`);
  }
  check(bad.length === 0, `${name}: axe finds no serious or critical violation (${result.violations.length} minor, ${result.passes.length} rules pass)`);
}

async function visit(page, path, name) {
  const response = await page.goto(base + path);
  check(response.status() === 200, `${name}: ${path} answers 200 (got ${response.status()})`);
  await axe(page, name);
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

// RFC 6238 (SHA-1, 6 digits, 30 s) from a base32 secret, as an authenticator app computes it.
function totp(secret) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(code).padStart(6, '0');
}

function codeFromLog() {
  const lines = readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith(`sign-in code for ${customer}:`));
  return lines.length ? lines[lines.length - 1].split(': ')[1].split(' ')[0] : null;
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ acceptDownloads: true, locale: 'nb-NO' });
  const page = await context.newPage();

  // Sign in.
  await visit(page, '/signin', 'signin');
  await page.fill('#who', customer);
  await page.click('button[type=submit]');
  let code = null;
  for (let i = 0; i < 50 && !code; i++) {
    code = codeFromLog();
    if (!code) await new Promise((r) => setTimeout(r, 100));
  }
  check(code !== null, 'the one-time code is printed on the server console');
  await page.fill('#code', code);
  await page.click('button[type=submit]');
  await page.waitForURL(base + '/');
  const heading = await page.textContent('h1');
  check(heading.startsWith('Hei, '), `the overview greets the customer (${heading})`);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'nordlys_session');
  check(session && session.httpOnly && session.secure && session.sameSite === 'Lax', 'the session cookie is HttpOnly, Secure and SameSite=Lax');
  await axe(page, 'overview');
  await page.screenshot({ path: `${shots}/overview.png`, fullPage: true });

  // Consumption: the chart, then hourly values.
  await visit(page, '/consumption', 'consumption-daily');
  const bars = await page.locator('figure.chart svg rect.bar').count();
  check(bars >= 28, `the daily chart draws a bar per day (${bars})`);
  check(await page.locator('figure.chart svg polyline.spot').count() === 1, 'the spot price is drawn over the consumption');
  // With JavaScript, choosing a resolution updates the chart in place (htmx): the page is not
  // loaded again (a mark set on it survives) and the address names the new resolution.
  await page.evaluate(() => { window.nordlysMark = 'kept'; });
  await page.focus('#resolution');
  await page.selectOption('#resolution', 'hour');
  await page.waitForFunction(() => document.querySelectorAll('figure.chart svg rect.bar').length >= 24 * 28);
  const hourly = await page.locator('figure.chart svg rect.bar').count();
  check(hourly >= 24 * 28, `the hourly chart draws a bar per hour (${hourly})`);
  check(await page.evaluate(() => window.nordlysMark) === 'kept', 'the chart changed in place, without loading the page again');
  check(page.url().includes('resolution=hour'), `the address names the resolution (${page.url()})`);
  check(await page.evaluate(() => document.activeElement && document.activeElement.id) === 'resolution',
    'the focus stays on the resolution chosen');
  await axe(page, 'consumption-hourly');
  await page.screenshot({ path: `${shots}/consumption-hourly.png`, fullPage: true });

  // Without JavaScript the same form loads the page anew, with the same chart.
  {
    const plain = await browser.newContext({ javaScriptEnabled: false, locale: 'nb-NO' });
    await plain.addCookies(await context.cookies());
    const still = await plain.newPage();
    await still.goto(base + '/consumption');
    await still.selectOption('#resolution', 'hour');
    await Promise.all([still.waitForURL(/resolution=hour/), still.click('form.filters button')]);
    const bars = await still.locator('figure.chart svg rect.bar').count();
    check(bars === hourly, `without JavaScript the form gives the same hourly chart (${bars} bars)`);
    await plain.close();
  }

  // The peak view.
  await visit(page, '/peaks', 'peaks');
  const peakRows = await page.locator('table.peaks tbody tr').count();
  check(peakRows === 3, `the peak view lists the three highest daily peaks (${peakRows})`);
  const standing = await page.textContent('main');
  check(/Kapasitetstrinn nå/.test(standing), 'the peak view names the capacity step');

  // Spot prices today and tomorrow.
  await visit(page, '/prices', 'prices');
  const priceRows = await page.locator('table tbody tr').count();
  check(priceRows >= 23, `the spot price page lists today's hours (${priceRows})`);

  // Compare agreements.
  await visit(page, '/compare', 'compare');
  const options = await page.locator('table tbody tr').count();
  check(options >= 2, `the comparison lists the agreements offered (${options})`);

  // Invoices: the list, one invoice, its PDF.
  await visit(page, '/invoices', 'invoices');
  const first = page.locator('tbody a').first();
  const number = await first.textContent();
  await first.click();
  await page.waitForLoadState();
  check((await page.textContent('h1')).includes(number), `the invoice page shows ${number}`);
  await axe(page, 'invoice');
  await page.screenshot({ path: `${shots}/invoice.png`, fullPage: true });
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('a[href$="/pdf"]'),
  ]);
  const pdfPath = `${shots}/${number}.pdf`;
  await download.saveAs(pdfPath);
  const pdf = readFileSync(pdfPath);
  check(pdf.subarray(0, 5).toString() === '%PDF-', `the invoice PDF downloads (${pdf.length} bytes)`);

  // Postpone the invoice within the rules: the invoice then says so.
  await page.goto(base + `/invoices/${number}`);
  const due = await page.getAttribute('#due', 'min');
  await page.fill('#due', due);
  await page.click('form[action$="/postpone"] button');
  await page.waitForLoadState();
  check((await page.textContent('main')).includes('Utsatt til'), `invoice ${number} is postponed`);

  // Report a move.
  await visit(page, '/move', 'move');
  await page.fill('#date', '2025-01-25');
  await page.fill('#note', 'Ny adresse: Storgata 1');
  await page.click('form[action="/move"] button');
  await page.waitForURL(/reported=1/);
  check((await page.textContent('main')).includes('venter på kundeservice'), 'the move is reported and waits for customer service');

  // Settings: change the invoice channel and the contact details.
  await visit(page, '/settings', 'settings');
  const radio = page.locator('form[action="/settings/channel"] input[value="efaktura"]').first();
  const wanted = (await radio.isChecked()) ? 'paper' : 'efaktura';
  await page.locator(`form[action="/settings/channel"] input[value="${wanted}"]`).first().check();
  await page.locator('form[action="/settings/channel"] button').first().click();
  await page.waitForURL(/saved=1/);
  check(await page.locator(`form[action="/settings/channel"] input[value="${wanted}"]`).first().isChecked(), `the invoice channel is now ${wanted}`);
  await page.fill('#email', 'not-an-address');
  check(await page.$eval('#email', (e) => !e.checkValidity()), 'the browser itself flags a wrong e-mail address (the server refuses it too)');
  await page.fill('#email', 'kunde@example.no');
  await page.locator('form[action="/settings/contact"] button').click();
  await page.waitForURL(/saved=1/);
  check(await page.inputValue('#email') === 'kunde@example.no', 'the new e-mail address is stored');

  // The personal-data export.
  await visit(page, '/privacy', 'privacy');
  const [archive] = await Promise.all([
    page.waitForEvent('download'),
    page.click('form[action="/privacy/export"] button'),
  ]);
  const zipPath = `${shots}/personal-data.zip`;
  await archive.saveAs(zipPath);
  const zip = readFileSync(zipPath);
  check(zip.subarray(0, 2).toString() === 'PK', `the personal data downloads as a ZIP (${zip.length} bytes)`);
  await page.goto(base + '/settings');

  // Another language, then a phone.
  await page.click('a[href^="/lang/en"]');
  await page.waitForLoadState();
  check((await page.getAttribute('html', 'lang')) === 'en', 'the page switches to English');
  await axe(page, 'settings-en');
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, storageState: await context.storageState() });
  const small = await phone.newPage();
  for (const [path, name] of [['/', 'phone-overview'], ['/consumption', 'phone-consumption'], ['/peaks', 'phone-peaks']]) {
    await small.goto(base + path);
    const width = await small.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 390, `${name}: nothing wider than the phone (${width} px)`);
    await small.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  }
  await phone.close();

  // Sign out: the pages send the browser to sign in.
  await page.click('form.signout button');
  await page.waitForURL(base + '/signin');
  await page.goto(base + '/invoices');
  check(page.url() === base + '/signin', 'after signing out, a page sends the browser to sign in');

  // The back-office: staff sign in with a password and a TOTP code, find a customer, open the
  // 360° view, the runs and the audit log.
  const office = await browser.newContext({ locale: 'nb-NO' });
  const desk = await office.newPage();
  await visit(desk, '/staff/signin', 'staff-signin');
  await desk.fill('#name', 'kari');
  await desk.fill('#password', 'browser-test-password');
  await desk.fill('#code', totp(process.env.STAFF_SECRET));
  await desk.click('button[type=submit]');
  await desk.waitForURL(base + '/staff');
  await desk.fill('#q', customer);
  await desk.click('form.filters button');
  await desk.waitForLoadState();
  await axe(desk, 'staff-search');
  await desk.screenshot({ path: `${shots}/staff-search.png`, fullPage: true });
  await desk.click(`a[href="/staff/customers/${customer}"]`);
  await desk.waitForLoadState();
  check((await desk.textContent('h1')).includes(customer), `the 360° view of ${customer} opens`);
  await axe(desk, 'staff-customer');
  await desk.screenshot({ path: `${shots}/staff-customer.png`, fullPage: true });
  const view = await desk.textContent('main');
  check(/kWh/.test(view) && view.includes('Målerverdier'), 'the 360° view summarises the latest readings of each metering point');
  check(view.includes('Arbeidsordrer') && view.includes('Flytting'), 'the 360° view lists the customer\'s work orders');
  await desk.locator('a[href^="/staff/points/"][href$="/readings"]').first().click();
  await desk.waitForLoadState();
  const readingRows = await desk.locator('table tbody tr').count();
  check(readingRows >= 24, `the readings page lists a day of readings (${readingRows})`);
  await axe(desk, 'staff-readings');
  await desk.screenshot({ path: `${shots}/staff-readings.png`, fullPage: true });
  await desk.locator('a[href*="?day="]').first().click();
  await desk.waitForLoadState();
  check(desk.url().includes('?day='), `the readings page goes to the day before (${desk.url()})`);
  await visit(desk, '/staff/corrections', 'staff-corrections');
  check((await desk.textContent('main')).includes('Ingenting utstedes'), 'the correction preview says viewing it issues nothing');
  await visit(desk, '/staff/work-orders', 'staff-work-orders');
  await desk.locator('button[value=approve]').first().click();
  await desk.waitForURL(/decided=1/);
  check((await desk.textContent('main')).includes('godkjent'), 'staff approve the reported move');
  await visit(desk, '/staff/runs', 'staff-runs');
  await visit(desk, '/staff/audit', 'staff-audit');
  check((await desk.textContent('main')).includes('view_customer'), 'the audit log shows the view of the customer');
  const deskPhone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, storageState: await office.storageState() });
  const deskSmall = await deskPhone.newPage();
  for (const [path, name] of [[`/staff/customers/${customer}`, 'phone-staff-customer'], ['/staff/corrections', 'phone-staff-corrections']]) {
    await deskSmall.goto(base + path);
    const width = await deskSmall.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 390, `${name}: nothing wider than the phone (${width} px)`);
    await deskSmall.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  }
  await deskPhone.close();
  await office.close();

  // Staff through the OpenID provider (as through Entra ID): a user name the back-office does
  // not know is refused, and the refusal audited; the staff member's lands in the back-office.
  async function staffThroughProvider(login) {
    const context = await browser.newContext({ locale: 'nb-NO' });
    const tab = await context.newPage();
    await tab.goto(base + '/staff/signin');
    await tab.click('a[href="/staff/signin/oidc"]');
    await tab.waitForURL((url) => !url.toString().startsWith(base));
    await tab.fill('input[name=login]', login);
    await tab.fill('input[name=password]', 'any');
    await tab.click('button[type=submit]');
    await tab.waitForLoadState();
    for (let i = 0; i < 3 && !tab.url().startsWith(base); i++) {
      await tab.click('button[type=submit]');
      await tab.waitForLoadState();
    }
    return { context, tab };
  }
  const stranger = await staffThroughProvider('ola');
  await stranger.tab.waitForURL((url) => url.toString().startsWith(base + '/staff/auth/callback'));
  check((await stranger.tab.textContent('main')).includes('ikke bruker av backoffice'), 'a provider user who is not staff is refused');
  await axe(stranger.tab, 'staff-oidc-refused');
  await stranger.tab.screenshot({ path: `${shots}/staff-oidc-refused.png`, fullPage: true });
  await stranger.tab.goto(base + '/staff');
  check(stranger.tab.url() === base + '/signin', 'the refused user has no session');
  for (const [query, what] of [['?state=forged&code=abc', 'a forged state'], ['?state=abc', 'a missing code'], ['?error=access_denied', 'the provider\'s error']]) {
    const response = await stranger.tab.goto(base + '/staff/auth/callback' + query);
    check(response.status() === 400, `the staff callback with ${what} answers 400 (got ${response.status()})`);
  }
  await stranger.context.close();
  const member = await staffThroughProvider('kari');
  await member.tab.waitForURL(base + '/staff');
  check((await member.tab.textContent('h1')).length > 0 && await member.tab.locator('a[href="/staff/corrections"]').count() === 1, 'kari signs in through the provider to the back-office');
  await member.tab.goto(base + '/staff/audit');
  const log = await member.tab.textContent('main');
  check(log.includes('staff_sign_in_refused') && log.includes('OpenID Connect'), 'the audit log shows the refusal and the sign-in through the provider');
  await member.context.close();

  // OpenID Connect: through the provider's login and consent to the customer whose national
  // identity number the provider gives.
  const fresh = await browser.newContext({ locale: 'nb-NO' });
  const oidc = await fresh.newPage();
  await oidc.goto(base + '/signin');
  await oidc.click('a[href="/signin/oidc"]');
  await oidc.waitForURL((url) => !url.toString().startsWith(base));
  check(oidc.url().includes('/interaction/'), `the browser is at the provider's login (${oidc.url()})`);
  await oidc.screenshot({ path: `${shots}/oidc-provider-login.png`, fullPage: true });
  await oidc.fill('input[name=login]', 'anna');
  await oidc.fill('input[name=password]', 'any');
  await oidc.click('button[type=submit]');
  await oidc.waitForLoadState();
  for (let i = 0; i < 3 && !oidc.url().startsWith(base); i++) {
    // The provider's consent page.
    await oidc.click('button[type=submit]');
    await oidc.waitForLoadState();
  }
  await oidc.waitForURL(base + '/');
  const greeting = await oidc.textContent('h1');
  check(greeting.startsWith('Hei, '), `signed in through OpenID Connect (${greeting})`);
  const accounts = await oidc.textContent('main');
  check(accounts.includes(process.env.OIDC_CUSTOMER.replace('K', 'A')), `the provider's person is customer ${process.env.OIDC_CUSTOMER}`);
  await fresh.close();
} finally {
  await browser.close();
}

writeFileSync(`${shots}/result.txt`, failures.length ? failures.join('\n') + '\n' : 'all checks passed\n');
if (failures.length) {
  console.log(`\n${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('\nall browser checks passed');
