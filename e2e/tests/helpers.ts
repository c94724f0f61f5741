import { expect, type ConsoleMessage, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';

/** A login nobody else in this run has used, so tests stay independent of each other and of earlier runs. */
export function uniqueLogin(prefix: string): string {
  return `${prefix}${Date.now()}${Math.floor(Math.random() * 1000)}`;
}

/** The name the loopback provider gives a login: the login with its first letter upper-cased. */
export function displayName(login: string): string {
  return login.charAt(0).toUpperCase() + login.slice(1);
}

/** The site header's user menu ("Signed in as NAME" + "Sign out", or "Sign in"). */
export function userMenu(page: Page) {
  return page.getByRole('banner');
}

/** Expects the header to say the browser is signed in as `name`. */
export async function expectSignedInAs(page: Page, name: string): Promise<void> {
  await expect(userMenu(page).getByRole('link', { name: `Signed in as ${name}`, exact: true })).toBeVisible();
  await expect(userMenu(page).getByRole('button', { name: 'Sign out', exact: true })).toBeVisible();
}

/**
 * On the app's sign-in page: clicks "Continue with GitHub" and waits for the loopback provider's
 * "Test GitHub sign-in" page. If it never shows, the failure lists the browser console's errors
 * (a Content-Security-Policy that blocks the redirect to the provider shows up there, not in the page).
 */
export async function continueWithGitHub(page: Page): Promise<void> {
  const consoleErrors: string[] = [];
  const onConsole = (message: ConsoleMessage) => {
    if (message.type() === 'error') consoleErrors.push(message.text().trim());
  };
  page.on('console', onConsole);
  try {
    await page.getByRole('button', { name: 'Continue with GitHub', exact: true }).click();
    await expect(page).toHaveTitle(/Test GitHub sign-in/);
  } catch (error) {
    if (consoleErrors.length === 0) throw error;
    throw new Error(
      `The provider's sign-in page did not show. Browser console errors:\n  ${consoleErrors.join('\n  ')}\n\n${error}`,
    );
  } finally {
    page.off('console', onConsole);
  }
}

/** At the loopback provider's "Test GitHub sign-in" page: approves as `login`. */
export async function authorizeAtProvider(page: Page, login: string): Promise<void> {
  await expect(page).toHaveTitle(/Test GitHub sign-in/);
  await page.getByLabel('Username', { exact: true }).fill(login);
  await page.getByRole('button', { name: 'Authorize', exact: true }).click();
}

/**
 * Signs the page's browser context in through the loopback GitHub provider as `login`, starting from the
 * sign-in page. Returns the name the app shows for that user.
 */
export async function signIn(page: Page, login: string): Promise<string> {
  await page.goto('/auth/signin');
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to Omnisonic' })).toBeVisible();
  await continueWithGitHub(page);
  await authorizeAtProvider(page, login);
  const name = displayName(login);
  await expectSignedInAs(page, name);
  return name;
}

/** Creates a studio session from the "New session" form on /studio; returns its detail page's path. */
export async function createSession(
  page: Page,
  title: string,
  description = 'Created by the Playwright end-to-end tests.',
): Promise<string> {
  await page.goto('/studio');
  await expect(page.getByRole('heading', { level: 1, name: 'Studio sessions' })).toBeVisible();
  return submitNewSession(page, title, description);
}

/** Fills and submits the "New session" form of the /studio page already open; returns the new session's path. */
export async function submitNewSession(page: Page, title: string, description: string): Promise<string> {
  await page.getByLabel('Title', { exact: true }).fill(title);
  await page.getByLabel('Description', { exact: true }).fill(description);
  await page.getByLabel('BPM', { exact: true }).fill('120');
  // Pick the first real option of the sample-rate select (skipping any empty placeholder).
  const sampleRate = page.getByLabel('Sample rate', { exact: true });
  const rates = await sampleRate
    .locator('option')
    .evaluateAll((opts) => opts.map((o) => (o as HTMLOptionElement).value).filter((v) => v !== ''));
  expect(rates.length, 'the "Sample rate" select offers at least one value').toBeGreaterThan(0);
  await sampleRate.selectOption(rates[0]);
  await page.getByRole('button', { name: 'Create session' }).click();

  await expect(page).toHaveURL(/\/studio\/sessions\/[^/?#]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(title);
  return new URL(page.url()).pathname;
}

/** The `<dd>` of the session detail page's "Owner" fact. */
export function ownerFact(page: Page) {
  return page.locator('dl.facts div').filter({ has: page.locator('dt', { hasText: /^Owner$/ }) }).locator('dd');
}

/** Fails with a readable list if axe finds serious or critical violations on the page as it is now. */
export async function expectNoSeriousA11yViolations(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const blocking = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const summary = blocking.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => n.target.join(' ')),
  }));
  expect(summary, `${page.url()}: ${JSON.stringify(summary, null, 2)}`).toEqual([]);
}

/** Expects the page to be the sign-in page reached by a redirect from `callbackPath`. */
export async function expectSignInRedirectFrom(page: Page, callbackPath: string): Promise<void> {
  await expect(page).toHaveURL((url) => url.pathname === '/auth/signin' && url.searchParams.get('callbackUrl') === callbackPath);
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to Omnisonic' })).toBeVisible();
}

/** A 16-bit PCM WAV file: `frames` frames of `channels` channels at `rate` Hz, `sample(frame, channel)` each. */
export function wavFile(rate: number, channels: number, frames: number, sample: (frame: number, channel: number) => number): Buffer {
  const blockAlign = channels * 2;
  const data = frames * blockAlign;
  const out = Buffer.alloc(44 + data);
  out.write('RIFF', 0);
  out.writeUInt32LE(36 + data, 4);
  out.write('WAVEfmt ', 8);
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(rate, 24);
  out.writeUInt32LE(rate * blockAlign, 28);
  out.writeUInt16LE(blockAlign, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36);
  out.writeUInt32LE(data, 40);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++) out.writeInt16LE(sample(i, c), 44 + i * blockAlign + c * 2);
  }
  return out;
}

/**
 * Gives the user who signed in as `login` a role (`editor`, `accountant`) through `omnisonic user grant`, run on
 * the server's own data dir (run.sh passes both paths).
 */
export async function grantRole(login: string, role: 'editor' | 'accountant'): Promise<void> {
  const bin = process.env.OMNISONIC_E2E_BIN;
  const dataDir = process.env.OMNISONIC_E2E_DATA_DIR;
  if (!bin || !dataDir) throw new Error('OMNISONIC_E2E_BIN and OMNISONIC_E2E_DATA_DIR must be set (run the tests through e2e/run.sh)');
  const { execFileSync } = await import('node:child_process');
  const env = { ...process.env };
  delete env.DATABASE_URL;
  execFileSync(bin, ['--data-dir', dataDir, 'user', 'grant', `${login}@example.test`, role], { env, stdio: 'pipe' });
}

/** Runs a GraphQL operation as the page's signed-in user (cookie and CSRF token of the page); returns `data`. */
export async function graphql(page: Page, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const token = await page.evaluate(() => JSON.parse(document.body.getAttribute('hx-headers') || '{}')['X-CSRF-Token']);
  const response = await page.request.post('/graphql', { data: { query, variables }, headers: { 'X-CSRF-Token': token } });
  expect(response.status()).toBe(200);
  const body = await response.json();
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data;
}
