import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { client, tokenFor } from '../fixtures/http.ts';
import { testKeys } from '../fixtures/integrations.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { inOwnBrowser, signIn } from './browser.ts';

// The Integrations page in headless Chromium against the real API: a team admin pastes a key, is
// told which field is wrong, sees the fingerprint, edits and deletes; an operator only reads.
// Needs the built dashboard (npm run build:web).
let api: TestApi;
let team: { id: string; slug: string };
let admin: { id: string; email: string; password: string };
let operator: { id: string; email: string; password: string };
const keys = testKeys();

beforeAll(async () => {
  api = await startApi();
  team = await createTeam(api.deps.db.em);
  admin = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  operator = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
});
afterAll(() => api?.close());

describe('Integrations page', () => {
  it('a team admin adds an SSH login by pasting a key, fixes the passphrase, edits and deletes it', async () => {
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, admin);
      await page.getByRole('link', { name: 'Integrations' }).click();
      await page.getByRole('heading', { name: 'Integrations' }).waitFor();
      await page.getByText('No integrations in this team yet.').waitFor();

      await page.locator('#new-name').fill('web servers');
      await page.locator('#new-setting-user').fill('deploy');
      await page.locator('#new-setting-hostKeys').fill(keys.hostKey.fingerprint);
      await page.locator('#new-secret-privateKey').fill(keys.encrypted.privateKey);
      await page.locator('#new-secret-passphrase').fill('not the passphrase');
      expect(await page.locator('#new-secret-passphrase').getAttribute('type')).toBe('password');
      await page.getByRole('button', { name: 'Add integration' }).click();
      await expect(page.locator('[data-field="passphrase"] .field-errors').textContent()).resolves.toBe('does not decrypt the private key');

      await page.locator('#new-secret-passphrase').fill(keys.encrypted.passphrase);
      await page.getByRole('button', { name: 'Add integration' }).click();
      await page.getByRole('status').filter({ hasText: `Added web servers. Key fingerprint ${keys.encrypted.fingerprint}.` }).waitFor();
      const row = page.getByTestId('integration-web servers');
      await expect(row.locator('code').textContent()).resolves.toBe(keys.encrypted.fingerprint);
      // The form is emptied, and the page never received the key back.
      await expect(page.locator('#new-secret-privateKey').inputValue()).resolves.toBe('');
      expect(await page.content()).not.toContain(keys.encrypted.privateKey.split('\n')[1]);

      await row.getByRole('button', { name: 'Edit web servers' }).click();
      const edit = page.locator('[data-testid^="integration-form-edit-"]');
      await edit.getByLabel('Name').fill('web fleet');
      await edit.getByRole('button', { name: 'Save changes' }).click();
      const renamed = page.getByTestId('integration-web fleet');
      await expect(renamed.locator('code').textContent()).resolves.toBe(keys.encrypted.fingerprint);

      page.once('dialog', (d) => void d.accept());
      await renamed.getByRole('button', { name: 'Delete web fleet' }).click();
      await page.getByRole('status').filter({ hasText: 'Deleted web fleet.' }).waitFor();
      await page.getByText('No integrations in this team yet.').waitFor();
    });
  });

  it('an operator sees the team’s integrations and their fingerprints but no way to change them', async () => {
    const res = await client(api, await tokenFor(api, admin.id)).post('/api/v1/integrations', {
      team: team.slug, type: 'ssh', name: 'bastion',
      settings: { user: 'ops', hostKeys: [keys.hostKey.fingerprint] }, secrets: { privateKey: keys.plain.privateKey },
    });
    expect(res.status).toBe(201);
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, operator);
      await page.goto(`${api.baseUrl}/integrations`);
      const row = page.getByTestId('integration-bastion');
      await expect(row.locator('code').textContent()).resolves.toBe(keys.plain.fingerprint);
      expect(await page.getByRole('button', { name: /Edit|Delete|Add integration/ }).count()).toBe(0);
    });
  });
});
