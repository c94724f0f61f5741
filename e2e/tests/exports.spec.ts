import { test, expect, type Page } from '@playwright/test';
import { createSession, expectNoSeriousA11yViolations, signIn, uniqueLogin, wavFile } from './helpers';

/** A stereo 16-bit WAV of `seconds` at `rate` Hz: a sine of `freq` Hz on both channels at -12 dBFS. */
function stereoWav(seconds: number, rate: number, freq: number): Buffer {
  return wavFile(rate, 2, Math.round(seconds * rate), (i) => Math.round(0.25 * Math.sin((2 * Math.PI * freq * i) / rate) * 32767));
}

async function uploadStem(page: Page, name: string, file: Buffer): Promise<void> {
  const uploads = page.getByRole('region', { name: 'Uploads' });
  await page.getByLabel(/Upload audio, an image or a video/).setInputFiles({ name, mimeType: 'audio/wav', buffer: file });
  await expect(uploads.getByRole('link', { name })).toBeVisible();
  await uploads.getByRole('row', { name: new RegExp(name) }).getByRole('button', { name: 'Add as track' }).click();
  await expect(page.locator('#tracks-table input[name="name"][value="' + name + '"]')).toBeVisible();
}

test('upload two stems, adjust a track, export as FLAC, watch progress reach 100 %, download', async ({ browser, page }) => {
  await signIn(page, uniqueLogin('producer'));
  const path = await createSession(page, `Mixdown ${Date.now()}`);
  await uploadStem(page, 'drums.wav', stereoWav(4, 44100, 110));
  await uploadStem(page, 'keys.wav', stereoWav(3, 48000, 440));

  // Track controls: turn the keys down and pan them left; the change is saved and shown after the reload.
  await page.getByRole('spinbutton', { name: 'Gain of keys.wav in dB' }).fill('-6');
  await page.getByRole('slider', { name: /Pan of keys.wav/ }).fill('-0.5');
  await page.getByRole('button', { name: 'Save keys.wav' }).click();
  await expect(page.getByRole('spinbutton', { name: 'Gain of keys.wav in dB' })).toHaveValue('-6');
  await expect(page.getByRole('slider', { name: /Pan of keys.wav/ })).toHaveValue('-0.5');
  const drumsRow = page.locator('#tracks-table tr', { has: page.locator('input[name="name"][value="drums.wav"]') });
  await expect(drumsRow.getByRole('cell', { name: '4.0 s' })).toBeVisible();

  // A second tab watches the session live while the first asks for the export.
  const watcher = await page.context().newPage();
  await watcher.goto(path);
  await expect(watcher.locator('#exports[data-joined="1"]')).toBeAttached();
  await expect(watcher.getByRole('status').filter({ hasText: 'Live' })).toBeVisible();

  const exports = page.getByRole('region', { name: 'Exports' });
  await exports.getByLabel('Format').selectOption('flac');
  await exports.getByRole('button', { name: 'Export mixdown' }).click();
  // Back on the session page, the new export is listed.
  await expect(exports.getByRole('progressbar', { name: 'Export progress' })).toHaveCount(1);

  // The watcher never reloads: its row arrives over the WebSocket and fills to 100 % with a download link.
  const live = watcher.getByRole('region', { name: 'Exports' });
  await expect(live.getByRole('progressbar', { name: 'Export progress' }).first()).toHaveAttribute('value', '100');
  await expect(live.getByText('completed', { exact: true })).toBeVisible();
  const [download] = await Promise.all([
    watcher.waitForEvent('download'),
    live.getByRole('link', { name: 'Download' }).first().click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^mixdown-.*\.flac$/);
  const saved = await download.path();
  const fs = await import('node:fs');
  const bytes = fs.readFileSync(saved!);
  expect(bytes.subarray(0, 4).toString('latin1')).toBe('fLaC');

  // The owner's page lists the export too once reloaded, and the page passes the accessibility scan.
  await page.reload();
  await expect(exports.getByRole('link', { name: 'Download' })).toBeVisible();
  await expect(exports.getByRole('cell', { name: 'FLAC 16-bit' })).toBeVisible();
  await expectNoSeriousA11yViolations(page);
  await watcher.close();
  void browser;
});

test('another user sees no export button on a session they do not own', async ({ page, browser }) => {
  await signIn(page, uniqueLogin('owner'));
  const path = await createSession(page, `Private mix ${Date.now()}`);
  const other = await browser.newContext();
  const visitor = await other.newPage();
  await signIn(visitor, uniqueLogin('visitor'));
  await visitor.goto(path);
  await expect(visitor.getByRole('button', { name: 'Export mixdown' })).toHaveCount(0);
  await expect(visitor.getByRole('region', { name: 'Exports' })).toHaveCount(0);
  await other.close();
});
