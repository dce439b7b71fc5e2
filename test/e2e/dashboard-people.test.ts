import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';
import { createTeam, createUser, PASSWORD } from '../fixtures/users.ts';
import { insertRun } from '../fixtures/runs.ts';
import { computedStyle as style, cssVar, inOwnBrowser, screenshot, signIn } from './browser.ts';

// Who the user is and what they may do, as a new user meets it (issue 8, items 7, 8, 9, 10, 16):
// headless Chromium against the real API, PostgreSQL and Redis; no worker. Each test has a browser
// of its own (its own session). Needs the built dashboard (npm run build:web).
const dist = path.resolve('web/dist/index.html');

let api: TestApi;
let team: { id: string; slug: string };
let admin: { id: string; email: string; password: string };


/** Fills the login form (without the helper's wait for the runs list: some sign-ins lead elsewhere). */
async function fillLogin(page: Page, email: string, password: string) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

beforeAll(async () => {
  if (!fs.existsSync(dist)) throw new Error('web/dist is missing: run `npm run build:web` first');
  api = await startApi({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000', ...ownRedisKeys('ui-people') });
  team = await createTeam(api.deps.db.em);
  admin = await createUser(api.deps.db.em, { teams: [team], role: 'platform-admin' });
});
afterAll(async () => {
  await api?.close();
});

describe('signing in', () => {
  it('returns to the link that was opened while signed out (item 7)', async () => {
    const runId = await insertRun(api.deps.db.em, team, admin.id, { target: 'deep-link-target' });
    await inOwnBrowser(async (page) => {
      await page.goto(`${api.baseUrl}/runs/${runId}?from=mail`);
      await fillLogin(page, admin.email, admin.password);
      await page.getByRole('heading', { name: /deep-link-target/ }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/runs/${runId}`);
    });
  });
});

describe('passwords', () => {
  it('an invited user’s one-time password signs in once, to choose their own; the Account page changes it (item 8)', async () => {
    const email = `invited-${crypto.randomUUID().slice(0, 8)}@example.test`;
    let oneTime = '';
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, admin);
      await page.getByRole('link', { name: 'Admin' }).click();
      await page.locator('#invite-email').fill(email);
      await page.locator('#invite-name').fill('Invited Person');
      oneTime = await page.locator('#invite-password').inputValue();
      await page.getByRole('button', { name: 'Create user' }).click();
      await page.getByText(`Created ${email}`).waitFor();
    });
    await inOwnBrowser(async (page) => {
      await page.goto(`${api.baseUrl}/`);
      await fillLogin(page, email, oneTime);
      await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
      await page.getByLabel('New password', { exact: true }).fill('password1234');
      await page.getByLabel('New password again').fill('password1234');
      await page.getByRole('button', { name: 'Set password and sign in' }).click();
      await expect(page.locator('#new-password-err').textContent()).resolves.toMatch(/too easy to guess/);
      await page.getByLabel('New password', { exact: true }).fill('copper kettle 28 moonrise');
      await page.getByLabel('New password again').fill('copper kettle 28 moonrise');
      await page.getByRole('button', { name: 'Set password and sign in' }).click();
      await page.getByRole('heading', { name: 'Runs' }).waitFor();
      await screenshot(page, 'first-sign-in-done');

      await page.getByRole('link', { name: 'Account' }).click();
      await page.getByLabel('Current password').fill('not the password');
      await page.getByLabel('New password', { exact: true }).fill('silver thistle 64 harbor');
      await page.getByLabel('New password again').fill('silver thistle 64 harbor');
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByRole('alert').filter({ hasText: 'current password is wrong' }).waitFor();
      await page.getByLabel('Current password').fill('copper kettle 28 moonrise');
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByText('Password changed.').waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();

      // The one-time password is spent; the latest one works.
      await fillLogin(page, email, oneTime);
      await page.getByText('Wrong email or password.').waitFor();
      await fillLogin(page, email, 'silver thistle 64 harbor');
      // Signed out on the Account page, signed in again there.
      await page.getByRole('heading', { name: 'Account' }).waitFor();
    });
  });

  it('lets a platform admin disable a user and reset a password from the dashboard (item 8)', async () => {
    const user = await createUser(api.deps.db.em, { teams: [team], role: 'viewer', email: `aaa-${crypto.randomUUID().slice(0, 8)}@example.test` });
    let reset = '';
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, admin);
      await page.getByRole('link', { name: 'Admin' }).click();
      const row = page.locator('tr', { hasText: user.email });
      page.once('dialog', (d) => void d.accept());
      await row.getByRole('button', { name: `Reset password of ${user.email}` }).click();
      const said = await row.getByTestId('action-message').textContent();
      reset = /: (\S+)$/.exec(said ?? '')?.[1] ?? '';
      expect(reset).toHaveLength(16);
      await row.locator('td[data-label=Status]', { hasText: /^active, must set a password$/ }).waitFor();
      await row.getByRole('button', { name: `Disable ${user.email}` }).click();
      await row.locator('td[data-label=Status]', { hasText: /^disabled$/ }).waitFor();
      await screenshot(page, 'admin-users');
    });
    await inOwnBrowser(async (page) => {
      await page.goto(`${api.baseUrl}/`);
      await fillLogin(page, user.email, reset);
      await page.getByText('Wrong email or password.').waitFor();
      expect(await page.getByRole('heading', { name: 'Choose your password' }).count()).toBe(0);
    });
    expect(PASSWORD).not.toBe(reset);
  });
});

describe('the admin page', () => {
  it('puts the checkbox by its label, styles a refusal as an error, and says what each role may do (item 9)', async () => {
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, admin);
      await page.getByRole('link', { name: 'Admin' }).click();
      const box = await page.getByLabel('Platform administrator').boundingBox();
      const label = await page.locator('label', { hasText: 'Platform administrator' }).boundingBox();
      // The box starts the label's line and its text follows right after it.
      expect(box!.x - label!.x).toBeLessThan(4);
      expect(box!.width).toBeLessThan(30);

      await page.getByLabel('Email of an existing user').fill('nobody-here@example.test');
      await page.getByRole('button', { name: 'Add or update' }).click();
      const refusal = page.getByRole('alert').filter({ hasText: 'User not found.' });
      await refusal.waitFor();
      expect(await style(page, '[role=alert]:has-text("User not found.")', 'color')).toBe(await cssVar(page, '--bad'));

      const help = page.getByTestId('role-help');
      for (const [role, says] of [['viewer', 'sees the team’s runs'], ['operator', 'starts runs'], ['approver', 'approves or rejects plans'], ['admin', 'sets their roles']]) {
        await expect(help.locator('div', { has: page.locator('dt', { hasText: new RegExp(`^${role}$`) }) }).textContent()).resolves.toContain(says);
      }
      expect(await page.getByLabel('Role', { exact: true }).getAttribute('aria-describedby')).toBe('role-help');
    });
  });
});

describe('what a role can do', () => {
  it('offers a viewer no "Start a run"; an operator gets it (item 10)', async () => {
    const viewer = await createUser(api.deps.db.em, { teams: [team], role: 'viewer' });
    const operator = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, viewer);
      await page.getByRole('link', { name: 'Account' }).waitFor();
      expect(await page.getByRole('link', { name: 'Start a run' }).count()).toBe(0);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(page, api.baseUrl, operator);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Start a run' }).waitFor();
      await page.getByRole('main').getByRole('link', { name: 'Start a run' }).waitFor();
    });
  });
});

describe('the API docs', () => {
  it('are linked from the navigation (item 16)', async () => {
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, admin);
      const link = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API docs' });
      expect(await link.getAttribute('href')).toBe('/api/v1/docs');
      const res = await fetch(`${api.baseUrl}/api/v1/docs`);
      expect([res.status, res.headers.get('content-type')]).toEqual([200, expect.stringContaining('text/html')]);
    });
  });
});
