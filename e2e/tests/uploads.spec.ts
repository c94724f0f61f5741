import { test, expect } from '@playwright/test';
import { createSession, expectNoSeriousA11yViolations, signIn, uniqueLogin, wavFile } from './helpers';

/** A mono 16-bit 44.1 kHz WAV of `samples` samples (a sawtooth). */
function wav(samples: number): Buffer {
  return wavFile(44100, 1, samples, (i) => ((i % 200) - 100) * 100);
}

test('upload a WAV from the session page, download it, use it as a track, delete it', async ({ page }) => {
  await signIn(page, uniqueLogin('uploader'));
  await createSession(page, `Uploads ${Date.now()}`);
  const uploads = page.getByRole('region', { name: 'Uploads' });
  await expect(uploads.getByText('No uploads yet.')).toBeVisible();

  const file = wav(44100);
  await page.getByLabel(/Upload audio, an image or a video/).setInputFiles({
    name: 'take one.wav',
    mimeType: 'audio/wav',
    buffer: file,
  });
  // The page reloads once the upload is stored; the file is then listed.
  const link = uploads.getByRole('link', { name: 'take one.wav' });
  await expect(link).toBeVisible();
  await expect(uploads.getByRole('cell', { name: 'audio/x-wav' })).toBeVisible();

  // The download link serves exactly the bytes uploaded.
  const href = await link.getAttribute('href');
  expect(href).toBeTruthy();
  const downloaded = await page.request.get(href!);
  expect(downloaded.status()).toBe(200);
  expect(Buffer.compare(await downloaded.body(), file)).toBe(0);

  await expectNoSeriousA11yViolations(page);

  await uploads.getByRole('button', { name: 'Add as track' }).click();
  await expect(page.getByRole('textbox', { name: 'Name of track 1' })).toHaveValue('take one.wav');
  await expect(uploads.getByText('in this session')).toBeVisible();

  page.once('dialog', (dialog) => dialog.accept());
  await uploads.getByRole('button', { name: 'Delete take one.wav' }).click();
  await expect(uploads.getByText('No uploads yet.')).toBeVisible();
  expect((await page.request.get(href!)).status()).not.toBe(200);
});

test('a file that is not media is refused with a clear message', async ({ page }) => {
  await signIn(page, uniqueLogin('uploader'));
  await createSession(page, `Bad upload ${Date.now()}`);
  await page.getByLabel(/Upload audio, an image or a video/).setInputFiles({
    name: 'notes.wav',
    mimeType: 'audio/wav',
    buffer: Buffer.from('these are my notes, not a song'.repeat(20)),
  });
  await expect(page.locator('#upload-status')).toContainText('Upload failed: the file is not audio, image or video');
});
