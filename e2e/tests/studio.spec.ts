import { test, expect } from '@playwright/test';
import { expectNoSeriousA11yViolations, signIn, submitNewSession, uniqueLogin } from './helpers';

test('create a studio session from the home page', async ({ page }) => {
  await signIn(page, uniqueLogin('studio'));
  const title = `Session ${Date.now()}`;

  await page.goto('/');
  await page.getByRole('navigation').getByRole('link', { name: 'Studio', exact: true }).click();
  await expect(page).toHaveURL(/\/studio\/?$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Studio sessions' })).toBeVisible();

  await submitNewSession(page, title, 'Created by the Playwright end-to-end test.');

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
