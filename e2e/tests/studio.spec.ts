import { test, expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';

test('create a studio session from the home page', async ({ page }) => {
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

test('the studio page has no serious or critical accessibility violations', async ({ page }) => {
  await page.goto('/studio');
  await expect(page.getByRole('heading', { level: 1, name: 'Studio sessions' })).toBeVisible();

  const results = await new AxeBuilder({ page }).analyze();
  const blocking = results.violations.filter(
    (v) => v.impact === 'serious' || v.impact === 'critical',
  );
  const summary = blocking.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => n.target.join(' ')),
  }));
  expect(summary, JSON.stringify(summary, null, 2)).toEqual([]);
});
