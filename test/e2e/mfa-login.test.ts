import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import { createUser } from '../fixtures/users.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';
import { inOwnBrowser, signIn } from './browser.ts';

// TOTP through the dashboard, in headless Chromium against the real API: enrol on the Account page
// (the key the QR code encodes is shown next to it), sign in with a code, and with a recovery code,
// which works once. Needs the built dashboard (npm run build:web).
const dist = path.resolve('web/dist/index.html');
let api: TestApi;
beforeAll(async () => {
  if (!fs.existsSync(dist)) throw new Error('web/dist is missing: run `npm run build:web` first');
  api = await startApi({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000', ...ownRedisKeys('ui-mfa') });
});
afterAll(() => api?.close());

async function login(page: Page, who: { email: string; password: string }, code: string) {
  await page.goto(`${api.baseUrl}/`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Authenticator code (or a recovery code)').fill(code);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

it('enrol TOTP on the Account page, sign in with a code, then with a recovery code once', async () => {
  const user = await createUser(api.deps.db.em);
  let recovery = '';
  let secret = '';
  await inOwnBrowser(async (page) => {
    await signIn(page, api.baseUrl, user);
    await page.getByRole('link', { name: 'Account' }).click();
    // The password is asked again: without it the page says so and shows no secret.
    const setUp = page.getByRole('form', { name: 'Set up two-factor authentication' });
    await setUp.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.getByRole('alert').filter({ hasText: 'give your current password' }).waitFor();
    await setUp.getByLabel('Your password').fill(user.password);
    await setUp.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.getByAltText('QR code to scan with an authenticator app').waitFor();
    secret = (await page.getByTestId('mfa-secret').textContent())!;
    await page.getByLabel('Code from the app').fill(await generate({ secret }));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByTestId('recovery-codes').locator('code').first().waitFor();
    const codes = await page.getByTestId('recovery-codes').locator('code').allTextContents();
    expect(codes).toHaveLength(10);
    recovery = codes[0]!;
    await page.getByTestId('mfa-status').waitFor();
  });
  // The enrolment spent this time step's code; the next step's (accepted: one step of drift) signs in.
  const nextCode = await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
  await inOwnBrowser(async (page) => {
    await login(page, user, nextCode);
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
  });
  await inOwnBrowser(async (page) => {
    await login(page, user, recovery);
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
  });
  await inOwnBrowser(async (page) => {
    await login(page, user, recovery);
    await page.getByText('Wrong email or password.').waitFor();
  });
});
