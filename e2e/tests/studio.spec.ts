import { test, expect } from '@playwright/test';
import { expectNoSeriousA11yViolations, signIn, uniqueLogin } from './helpers';

test('create a studio session from the home page', async ({ page }) => {
  await signIn(page, uniqueLogin('studio'));
  const title = `Session ${Date.now()}`;

  await page.goto('/');
  await page.getByRole('navigation').getByRole('link', { name: 'Studio', exact: true }).click();
  await expect(page).toHaveURL(/\/studio\/?$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Studio sessions' })).toBeVisible();

  await page.getByLabel('Title', { exact: true }).fill(title);
  await page.getByLabel('Description', { exact: true }).fill('Created by the Playwright end-to-end test.');
  await page.getByLabel('BPM', { exact: true }).fill('120');
  // Pick the first real option of the sample-rate select (skipping any empty placeholder).
  const sampleRate = page.getByLabel('Sample rate', { exact: true });
  const rates = await sampleRate
    .locator('option')
    .evaluateAll((opts) => opts.map((o) => (o as HTMLOptionElement).value).filter((v) => v !== ''));
  expect(rates.length, 'the "Sample rate" select offers at least one value').toBeGreaterThan(0);
  await sampleRate.selectOption(rates[0]);
  await page.getByRole('button', { name: 'Create session' }).click();

  await expect(page).toHaveURL(/\/studio\/sessions\/[^/]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(title);

  await page.goto('/studio');
  await expect(page.getByRole('link', { name: title, exact: true })).toBeVisible();
});

test('the studio and sign-in pages have no serious or critical accessibility violations', async ({ page }) => {
  await page.goto('/auth/signin');
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to Omnisonic' })).toBeVisible();
  await expectNoSeriousA11yViolations(page);

  await signIn(page, uniqueLogin('a11y'));
  await page.goto('/studio');
  await expect(page.getByRole('heading', { level: 1, name: 'Studio sessions' })).toBeVisible();
  await expectNoSeriousA11yViolations(page);
});
