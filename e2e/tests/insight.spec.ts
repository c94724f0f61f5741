import { test, expect } from '@playwright/test';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expectNoSeriousA11yViolations, grantRole, graphql, signIn, uniqueLogin } from './helpers';

/** A loopback feed server: one RSS feed whose items mention artists of the catalogue. */
async function feedServer(items: { guid: string; title: string; description: string }[]): Promise<{ url: string; server: Server }> {
  const rss = `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Loopback Music News</title>
    <link>http://127.0.0.1/</link><description>Test feed</description>
    ${items.map((i) => `<item><guid>${i.guid}</guid><link>http://127.0.0.1/news/${i.guid}</link><title>${i.title}</title><description>${i.description}</description></item>`).join('')}
    </channel></rss>`;
  const server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8', etag: '"e2e"' });
    response.end(rss);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/feed.xml`, server };
}

test('an editor adds a feed, sees items arrive with their mentions highlighted, adds an artist and re-tags', async ({ page }) => {
  const login = uniqueLogin('insight');
  await signIn(page, login);
  await grantRole(login, 'editor');
  const suffix = `${Date.now()}`.slice(-6);
  const known = `Zolani Quartet ${suffix}`;
  const later = `Marisol Vega ${suffix}`;
  await graphql(page, 'mutation($n: String!) { createParty(name: $n, kind: ARTIST) { id } }', { n: known });
  const { url, server } = await feedServer([
    {
      guid: `e2e-${suffix}`,
      title: `${known} announce a world tour`,
      description: `The band will be joined by ${later} in Zürich and Montréal.`,
    },
  ]);
  try {
    await page.goto('/insight/sources');
    await expect(page.getByRole('heading', { level: 1, name: 'Feed sources' })).toBeVisible();
    await expectNoSeriousA11yViolations(page);
    await page.getByLabel('Feed URL', { exact: true }).fill(url);
    await page.getByRole('button', { name: 'Add source' }).click();
    await expect(page.getByRole('status')).toContainText('Source added');
    const row = page.getByRole('row').filter({ hasText: url });
    await row.getByRole('button', { name: 'Poll now' }).click();
    // The source page: the feed's own title, and the item with its mention.
    await expect(page.getByRole('heading', { level: 1, name: 'Loopback Music News' })).toBeVisible();

    await page.goto('/insight');
    const item = page.locator('.news-item').filter({ hasText: `${known} announce a world tour` });
    await expect(item).toBeVisible();
    await expect(item.locator('mark', { hasText: known })).toBeVisible();
    await expect(item.getByRole('list', { name: 'Mentions' }).getByRole('link', { name: known })).toBeVisible();
    await expect(item.locator('mark', { hasText: later })).toHaveCount(0);
    await expectNoSeriousA11yViolations(page);

    // A new artist in the catalogue, then a re-tag: the old item gains the mention.
    await graphql(page, 'mutation($n: String!) { createParty(name: $n, kind: ARTIST) { id } }', { n: later });
    await page.goto('/insight/sources');
    await page.getByRole('button', { name: 'Re-tag all items' }).click();
    await expect(page.getByRole('status')).toContainText('Re-tagging started');
    await expect(async () => {
      await page.goto('/insight');
      await expect(page.locator('.news-item').filter({ hasText: known }).locator('mark', { hasText: later })).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
    // The mention links to the artist's news.
    await page.locator('.news-item').filter({ hasText: known }).getByRole('link', { name: later }).first().click();
    await expect(page.getByRole('status')).toContainText(`Mentions of ${later}`);
  } finally {
    server.close();
  }
});
