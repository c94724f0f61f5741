import { test, expect } from '@playwright/test';
import { expectNoSeriousA11yViolations, signIn, uniqueLogin } from './helpers';

/** A CSV of `n` recordings with distinct ISRCs, plus one row with a bad ISRC. */
function catalogue(n: number, seed: number): Buffer {
  const lines = ['ISRC,Title,Artist,Duration,Released_At,Genre'];
  for (let i = 0; i < n; i++) {
    const code = String(seed * 10000 + i).padStart(5, '0').slice(-5);
    lines.push(`QZE2E${String(seed % 100).padStart(2, '0')}${code},Song ${i},Playwright Band,3:${String(i % 60).padStart(2, '0')},2024-05-01,indie`);
  }
  lines.push('not-an-isrc,Broken,Nobody,,,');
  return Buffer.from(lines.join('\n') + '\n');
}

test('import a CSV from the imports page and watch it complete, with the rejected row listed', async ({ page }) => {
  await signIn(page, uniqueLogin('importer'));
  await page.goto('/imports');
  await expect(page.getByRole('heading', { level: 1, name: 'Bulk imports' })).toBeVisible();
  await expect(page.getByText('No imports yet.')).toBeVisible();
  await expectNoSeriousA11yViolations(page);

  const seed = Date.now() % 90 + 1;
  await page.getByLabel('CSV or JSON Lines file').setInputFiles({ name: 'catalogue.csv', mimeType: 'text/csv', buffer: catalogue(3000, seed) });
  await page.getByRole('button', { name: 'Upload and import' }).click();

  // The job page: its progress bar reaches 100 % and the counts are exact.
  await expect(page).toHaveURL(/\/imports\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Import of catalogue.csv' })).toBeVisible();
  await expect(page.locator('#job-status')).toHaveText('completed', { timeout: 30_000 });
  await expect(page.getByRole('progressbar', { name: 'Import progress' })).toHaveAttribute('value', '100');
  await expect(page.locator('#job-accepted')).toHaveText('3000');
  await expect(page.locator('#job-rejected')).toHaveText('1');
  const findings = page.getByRole('table');
  await expect(findings.getByRole('cell', { name: 'not-an-isrc' })).toBeVisible();
  await expect(findings.getByRole('cell', { name: /is not an ISRC/ })).toBeVisible();
  const report = await page.request.get(await page.getByRole('link', { name: /Download the full report/ }).getAttribute('href') ?? '');
  expect(report.status()).toBe(200);
  expect((await report.text()).split('\n')[1]).toMatch(/^3002,isrc,not-an-isrc,/);
  await expectNoSeriousA11yViolations(page);

  // The list shows it too.
  await page.getByRole('link', { name: '← All imports' }).click();
  await expect(page.getByRole('link', { name: 'catalogue.csv' })).toBeVisible();
});

test('a file without the required columns is refused on the spot', async ({ page }) => {
  await signIn(page, uniqueLogin('importer'));
  await page.goto('/imports');
  await page.getByLabel('CSV or JSON Lines file').setInputFiles({
    name: 'albums.csv', mimeType: 'text/csv', buffer: Buffer.from('isrc,album\nUSRC11301176,Aquarius\n'),
  });
  await page.getByRole('button', { name: 'Upload and import' }).click();
  await expect(page.locator('#import-upload-status')).toContainText('lacks the required column(s) title, artist');
});

test('an API token made on the settings page is shown once and works until revoked', async ({ page }) => {
  await signIn(page, uniqueLogin('scripter'));
  await page.goto('/account');
  await page.getByRole('link', { name: 'manage your tokens' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Personal API tokens' })).toBeVisible();
  await page.getByLabel('What it is for').fill('nightly import');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = (await page.locator('#new-token').textContent())?.trim() ?? '';
  expect(token).toMatch(/^oms_/);
  await expectNoSeriousA11yViolations(page);

  // A request with the token is signed in by it (it would be refused with a wrong one, cookie or not).
  const ask = () => page.context().request.fetch('/graphql', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    data: { query: '{ viewer { name } }' },
  });
  expect((await (await ask()).json()).data.viewer).not.toBeNull();

  await page.goto('/settings/tokens');
  await expect(page.locator('#new-token')).toHaveCount(0);
  await page.getByRole('button', { name: 'Revoke nightly import' }).click();
  await expect(page.getByRole('cell', { name: 'revoked' })).toBeVisible();
  expect((await ask()).status()).toBe(401);
});
