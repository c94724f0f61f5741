import { test, expect } from '@playwright/test';
import { expectNoSeriousA11yViolations, grantRole, graphql, signIn, uniqueLogin } from './helpers';

test('a work page follows renames and new licenses live, without reloading', async ({ page }) => {
  const login = uniqueLogin('editor');
  await signIn(page, login);
  await grantRole(login, 'editor');
  const created = await graphql(page, 'mutation($t: String!) { createWork(input: {title: $t}) { id } }', { t: 'Before the rename' });
  const workId = created.createWork.id;

  await page.goto(`/catalogue/works/${workId}`);
  await expect(page.getByRole('heading', { level: 1, name: 'Before the rename' })).toBeVisible();
  await expect(page.locator('[data-live-status][data-state="open"]')).toBeVisible();
  // The subscriptions are registered once the socket is open; leave them a moment before writing.
  await page.waitForTimeout(500);
  const navigations: string[] = [];
  page.on('framenavigated', (frame) => navigations.push(frame.url()));

  await graphql(page, 'mutation($id: ID!) { updateWork(id: $id, input: {title: "Renamed live"}) { id } }', { id: workId });
  await expect(page.getByRole('heading', { level: 1, name: 'Renamed live' })).toBeVisible();

  await graphql(
    page,
    'mutation($i: LicenseInput!) { createLicense(input: $i) { id } }',
    { i: { workId, licensee: 'Live Pictures Ltd', territory: 'GB', rightsType: 'SYNCHRONIZATION', effectiveFrom: '2030-01-01' } },
  );
  const licenses = page.locator('#work-licenses');
  await expect(licenses.getByRole('cell', { name: 'Live Pictures Ltd' })).toBeVisible();
  await expect(licenses.getByRole('cell', { name: 'GB' })).toBeVisible();
  expect(navigations, 'the page never reloaded').toEqual([]);
  await expectNoSeriousA11yViolations(page);
});

test('the ledger is for accountants; a cycle page shows entries and its checkpoint as they happen', async ({ page }) => {
  const login = uniqueLogin('accountant');
  await signIn(page, login);
  await page.goto('/ledger');
  await expect(page.getByRole('heading', { level: 1, name: 'Not allowed' })).toBeVisible();

  await grantRole(login, 'accountant');
  await grantRole(login, 'editor');
  const party = await graphql(page, 'mutation { createParty(name: "Ana Live", kind: ARTIST) { id } }');
  const cycle = await graphql(
    page,
    'mutation { createCycle(input: {name: "Live quarter", periodStart: "2026-01-01", periodEnd: "2026-03-31"}) { id } }',
  );
  const cycleId = cycle.createCycle.id;
  await page.goto('/ledger');
  await page.getByRole('link', { name: 'Live quarter' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Live quarter' })).toBeVisible();
  await expect(page.locator('[data-live-status][data-state="open"]')).toBeVisible();
  await page.waitForTimeout(500);

  const entry = 'mutation($i: LedgerEntryInput!) { createLedgerEntry(input: $i) { seq } }';
  await graphql(page, entry, { i: { cycleId, partyId: party.createParty.id, kind: 'ROYALTY', amountMinor: '1250', currency: 'EUR' } });
  await graphql(page, entry, { i: { cycleId, partyId: party.createParty.id, kind: 'FEE', amountMinor: '-50', currency: 'EUR' } });
  await expect(page.getByTestId('entry-count')).toHaveText('2');
  await expect(page.getByRole('cell', { name: '12.00 EUR' })).toBeVisible();

  await graphql(page, 'mutation($id: ID!) { closeCycle(id: $id) { entryCount } }', { id: cycleId });
  await expect(page.getByTestId('verification')).toHaveText(/Verified/);
  await expectNoSeriousA11yViolations(page);
});
