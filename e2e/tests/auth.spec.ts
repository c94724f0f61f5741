import { test, expect, type Page } from '@playwright/test';
import {
  authorizeAtProvider,
  continueWithGitHub,
  createSession,
  displayName,
  expectNoSeriousA11yViolations,
  expectSignedInAs,
  expectSignInRedirectFrom,
  ownerFact,
  signIn,
  uniqueLogin,
  userMenu,
} from './helpers';

/** Expects the header to show no signed-in user. */
async function expectSignedOut(page: Page): Promise<void> {
  await expect(userMenu(page).getByRole('button', { name: 'Sign out', exact: true })).toHaveCount(0);
  await expect(userMenu(page).getByRole('link', { name: /^Signed in as / })).toHaveCount(0);
}

test('sign in through GitHub, work in the studio, sign out', async ({ page, context, browser, baseURL }) => {
  const login = uniqueLogin('alice');
  const name = displayName(login);
  const title = `Full flow ${Date.now()}`;

  // Anonymous: the studio sends the browser to the sign-in page, remembering where it was going.
  await page.goto('/studio');
  await expect(page).toHaveURL(/\/auth\/signin\?callbackUrl=%2Fstudio$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to Omnisonic' })).toBeVisible();
  await expectSignedOut(page);

  // Sign in at the loopback GitHub provider and come back to /studio.
  await continueWithGitHub(page);
  await authorizeAtProvider(page, login);
  await expect(page).toHaveURL((url) => url.pathname === '/studio' && url.search === '');
  await expect(page.getByRole('heading', { level: 1, name: 'Studio sessions' })).toBeVisible();
  await expectSignedInAs(page, name);

  // Create a session; its page names the signed-in user as its owner.
  const sessionPath = await createSession(page, title);
  await expect(ownerFact(page)).toHaveText(`${name} (you)`);
  await expect(page.getByRole('note')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Delete session', exact: true })).toBeVisible();
  await expect(page.getByLabel('Track name', { exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Add track', exact: true })).toBeVisible();

  // The studio lists it.
  await page.goto('/studio');
  await page.getByRole('link', { name: title, exact: true }).click();
  await expect(page).toHaveURL((url) => url.pathname === sessionPath);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(title);

  // The owner may edit it.
  await page.getByRole('link', { name: 'Edit session', exact: true }).click();
  await expect(page).toHaveURL((url) => url.pathname === `${sessionPath}/edit`);
  await expect(page.getByRole('heading', { level: 1, name: 'Edit session' })).toBeVisible();
  await expect(page.getByLabel('Title', { exact: true })).toHaveValue(title);

  // Sign out with the header's button: back on the home page, signed out.
  const cookiesWhileSignedIn = await context.cookies();
  await userMenu(page).getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/');
  await expect(userMenu(page).getByRole('link', { name: 'Sign in', exact: true })).toBeVisible();
  await expectSignedOut(page);

  // The studio and the session want a sign-in again.
  await page.goto('/studio');
  await expectSignInRedirectFrom(page, '/studio');
  await page.goto(sessionPath);
  await expectSignInRedirectFrom(page, sessionPath);

  // The session was revoked on the server: replaying the old cookies signs nobody in.
  const replay = await browser.newContext({ baseURL });
  try {
    await replay.addCookies(cookiesWhileSignedIn);
    const replayPage = await replay.newPage();
    await replayPage.goto('/studio');
    await expectSignInRedirectFrom(replayPage, '/studio');
    await expectSignedOut(replayPage);
  } finally {
    await replay.close();
  }
});

test('another signed-in user sees a session read-only', async ({ page, browser, baseURL }) => {
  const ownerName = await signIn(page, uniqueLogin('owner'));
  const title = `Shared ${Date.now()}`;
  const sessionPath = await createSession(page, title);
  await expect(ownerFact(page)).toHaveText(`${ownerName} (you)`);

  const other = await browser.newContext({ baseURL });
  try {
    const pageB = await other.newPage();
    const viewerName = await signIn(pageB, uniqueLogin('viewer'));
    expect(viewerName).not.toBe(ownerName);

    const detail = await pageB.goto(sessionPath);
    expect(detail?.status()).toBe(200);
    await expectSignedInAs(pageB, viewerName);
    await expect(pageB.getByRole('heading', { level: 1 })).toHaveText(title);
    await expect(pageB.getByRole('note')).toHaveText(
      'You are viewing this session read-only: only its owner can change it.',
    );
    await expect(ownerFact(pageB)).toHaveText(ownerName);
    await expect(pageB.getByRole('link', { name: 'Edit session' })).toHaveCount(0);
    await expect(pageB.getByRole('button', { name: 'Delete session' })).toHaveCount(0);
    await expect(pageB.getByRole('button', { name: 'Add track' })).toHaveCount(0);
    await expect(pageB.getByLabel('Track name')).toHaveCount(0);

    // The read-only view is accessible too.
    await expectNoSeriousA11yViolations(pageB);

    // The edit page is refused outright.
    const edit = await pageB.goto(`${sessionPath}/edit`);
    expect(edit?.status()).toBe(403);
    await expect(pageB.getByRole('heading', { level: 1, name: 'Not allowed' })).toBeVisible();
    await expect(pageB.getByLabel('Title', { exact: true })).toHaveCount(0);

    // B's own studio does not list A's session.
    await pageB.goto('/studio');
    await expect(pageB.getByRole('heading', { level: 1, name: 'Studio sessions' })).toBeVisible();
    await expect(pageB.getByRole('link', { name: title, exact: true })).toHaveCount(0);
  } finally {
    await other.close();
  }
});

test('cancelling at GitHub comes back to the sign-in page, still signed out', async ({ page }) => {
  await page.goto('/auth/signin');
  await continueWithGitHub(page);
  await page.getByRole('button', { name: 'Cancel', exact: true }).click();

  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to Omnisonic' })).toBeVisible();
  await expect(page.getByRole('alert')).toHaveText('Sign-in was cancelled at GitHub.');
  await expect(page.getByRole('button', { name: 'Continue with GitHub', exact: true })).toBeVisible();
  await expectSignedOut(page);

  // Nothing was signed in behind the scenes: the header offers "Sign in" and the studio still wants it.
  await page.goto('/');
  await expect(userMenu(page).getByRole('link', { name: 'Sign in', exact: true })).toBeVisible();
  await page.goto('/studio');
  await expectSignInRedirectFrom(page, '/studio');
});

test('the sign-in page has no serious or critical accessibility violations', async ({ page }) => {
  await page.goto('/auth/signin?callbackUrl=%2Fstudio');
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to Omnisonic' })).toBeVisible();
  await expectNoSeriousA11yViolations(page);
});
