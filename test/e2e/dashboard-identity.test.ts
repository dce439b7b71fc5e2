import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser, PASSWORD } from '../fixtures/users.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';
import { inOwnBrowser, screenshot, signIn, waitForCount } from './browser.ts';

// Identity for enterprises in the dashboard (issue 14): custom roles defined, assigned and seen as
// effective permissions, the audit log, and a team's MFA requirement — headless Chromium against the
// real API, PostgreSQL and Redis; no worker (nothing here starts a run). Needs `npm run build:web`.
const dist = path.resolve('web/dist/index.html');

let api: TestApi;
let team: { id: string; slug: string };
let admin: { id: string; email: string; password: string };
let member: { id: string; email: string; password: string };
const roleName = `deployer-${crypto.randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  if (!fs.existsSync(dist)) throw new Error('web/dist is missing: run `npm run build:web` first');
  api = await startApi({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000', ...ownRedisKeys('ui-identity') });
  team = await createTeam(api.deps.db.em);
  admin = await createUser(api.deps.db.em, { teams: [team], role: 'platform-admin' });
  member = await createUser(api.deps.db.em, { teams: [team], role: 'viewer' });
});
afterAll(() => api?.close());

const adminNav = (page: Page) => page.getByRole('navigation', { name: 'Administration' });
const checkPermission = (page: Page, permission: string) => page.getByTestId('role-new-form').locator(`input[type=checkbox][value="${permission}"]`).check();

describe('custom roles', () => {
  it('an admin creates a role, assigns it to a member and sees it in their effective permissions; the member can do exactly that', async () => {
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, admin);
      await page.getByRole('link', { name: 'Admin' }).click();
      await adminNav(page).getByRole('link', { name: 'Roles' }).click();
      await page.getByTestId('role-viewer').waitFor();
      const form = page.getByTestId('role-new-form');

      // The API's refusal lands beside each field it names: a name it refuses, no permission at all.
      await form.getByLabel('Name').fill('x');
      await form.getByRole('button', { name: 'Create role' }).click();
      await page.locator('#role-new-name-err').waitFor();
      await page.locator('#role-new-permissions-err').waitFor();
      expect(await form.getByLabel('Name').getAttribute('aria-invalid')).toBe('true');

      await form.getByLabel('Name').fill(roleName);
      await form.getByLabel('Description', { exact: true }).fill('reads, plans Terraform, keeps the team’s integrations');
      for (const p of ['runs:read', 'runs:start:terraform', 'runs:approve:terraform', 'integrations:manage']) await checkPermission(page, p);
      await form.getByLabel('Limit approvals to these targets').fill('prod\nstaging');
      await form.getByRole('button', { name: 'Create role' }).click();
      await form.getByRole('status').filter({ hasText: `Role ${roleName} created.` }).waitFor();
      const row = page.getByTestId(`role-${roleName}`);
      // The status comes with the answer; the table shows the role once its list is read again (CI-B read it empty).
      await waitForCount(page, `[data-testid="role-${roleName}"] .perm-list code`, 4);
      expect((await row.locator('.perm-list code').allTextContents()).sort()).toEqual(['integrations:manage', 'runs:approve:terraform', 'runs:read', 'runs:start:terraform']);
      await expect(row.locator('td[data-label="Approvals limited to"]').textContent()).resolves.toBe('prod, staging');

      // The same name again: a conflict, beside the name.
      await form.getByLabel('Name').fill(roleName);
      await checkPermission(page, 'runs:read');
      await form.getByRole('button', { name: 'Create role' }).click();
      await expect(page.locator('#role-new-name-err').textContent()).resolves.toBe('already taken');
      await screenshot(page, 'admin-roles');

      await adminNav(page).getByRole('link', { name: 'Teams and members' }).click();
      await page.locator('#members-team').selectOption(team.slug);
      await page.getByLabel(`Custom role of ${member.email}`).selectOption({ label: roleName });
      await page.getByTestId('action-message').filter({ hasText: `${member.email} now holds the custom role ${roleName} in ${team.slug}.` }).waitFor();

      await page.getByRole('button', { name: `Permissions of ${member.email}` }).first().click();
      const effective = page.getByTestId(`effective-${team.slug}`);
      await expect(effective.locator('td[data-label=Role]').textContent()).resolves.toBe(`${roleName} (custom; replaces viewer)`);
      expect((await effective.locator('.perm-list code').allTextContents()).sort()).toEqual(['integrations:manage', 'runs:approve:terraform', 'runs:read', 'runs:start:terraform']);
      await screenshot(page, 'admin-effective-permissions');
    });

    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, member);
      const nav = page.getByRole('navigation', { name: 'Main' });
      // Starting runs: of the one kind the role names, nothing else; no administration.
      await nav.getByRole('link', { name: 'Start a run' }).click();
      await page.getByTestId('start-form').waitFor();
      expect(await page.locator('#run-kind option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value))).toEqual(['terraform']);
      expect(await nav.getByRole('link', { name: 'Admin' }).count()).toBe(0);

      await nav.getByRole('link', { name: 'Account' }).click();
      await expect(page.getByTestId(`effective-${team.slug}`).locator('td[data-label=Role]').textContent()).resolves.toBe(`${roleName} (custom; replaces viewer)`);

      // Managing integrations, which the built-in viewer role could not.
      await nav.getByRole('link', { name: 'Integrations' }).click();
      const form = page.getByTestId('integration-form-new');
      await form.locator('#new-type').selectOption('webhook');
      await form.getByLabel('Name').fill('release hook');
      await form.locator('#new-setting-url').fill('https://hooks.example.test/release');
      await form.locator('#new-secret-signingSecret').fill('a signing secret of some length');
      await form.getByRole('button', { name: 'Add integration' }).click();
      await page.getByRole('status').filter({ hasText: 'Added release hook.' }).waitFor();
    });
    // What the UI offered is what the API allows: the role grants no team management.
    const jwt = await tokenFor(api, member.id);
    expect((await client(api, jwt).patch(`/api/v1/teams/${team.slug}/settings`, { fourEyes: true })).status).toBe(403);
  });
});

describe('audit log', () => {
  it('shows the role change, and filters by action, actor, target and time', async () => {
    const role = (await client(api, await tokenFor(api, admin.id)).get('/api/v1/roles')).body.items.find((r: { name: string }) => r.name === roleName);
    expect(role).toBeDefined();
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, admin);
      await page.getByRole('link', { name: 'Admin' }).click();
      await adminNav(page).getByRole('link', { name: 'Audit log' }).click();
      const filters = page.getByRole('form', { name: 'Filter the audit log' });
      const rows = page.getByTestId('audit-entry');

      await filters.getByLabel('Team').selectOption(team.slug);
      await filters.getByLabel('Action').fill('member.role.assign');
      await filters.getByRole('button', { name: 'Apply filters' }).click();
      await page.waitForURL(/action=member\.role\.assign/);
      await waitForCount(page, '[data-testid=audit-entry]', 1);
      await expect(rows.first().locator('td[data-label=Actor]').textContent()).resolves.toBe(admin.email);
      await expect(rows.first().locator('td[data-label=Target]').textContent()).resolves.toBe(`membership ${team.id}:${member.id}`);
      await rows.first().locator('summary').click();
      expect(JSON.parse((await rows.first().locator('pre').textContent())!)).toMatchObject({ userId: member.id, roleId: role.id, roleName });
      await screenshot(page, 'admin-audit');

      // By actor: the member's own entries are the integration they added.
      await filters.getByLabel('Action').fill('');
      await filters.getByLabel('Actor (email)').fill(member.email.toUpperCase());
      await filters.getByRole('button', { name: 'Apply filters' }).click();
      await rows.locator('td[data-label=Action]', { hasText: 'integration.create' }).waitFor();
      expect(new Set(await rows.locator('td[data-label=Actor]').allTextContents())).toEqual(new Set([member.email]));

      // By target: the role's history, from its row on the Roles page.
      await adminNav(page).getByRole('link', { name: 'Roles' }).click();
      await page.getByRole('link', { name: `History of ${roleName}` }).click();
      await page.waitForURL(/targetId=/);
      await rows.first().waitFor();
      expect(await rows.locator('td[data-label=Action]').allTextContents()).toEqual(['role.create']);
      await expect(filters.getByLabel('Target id').inputValue()).resolves.toBe(role.id);

      // By time: nothing after now; the API's refusal of a malformed time shows beside that field.
      await filters.getByLabel('From').fill('2999-01-01T00:00');
      await filters.getByRole('button', { name: 'Apply filters' }).click();
      await page.getByText('No entries match.').waitFor();
      await page.goto(`${api.baseUrl}/admin/audit?since=yesterday`);
      await page.locator('#audit-since-err').waitFor();
      await page.getByRole('alert').filter({ hasText: 'Not loaded' }).waitFor();
    });
  });
});

describe('on a phone', () => {
  it('the Roles and Audit log pages fit the screen width', async () => {
    const overflowsX = (page: Page) => page.evaluate('document.scrollingElement.scrollWidth > innerWidth') as Promise<boolean>;
    await inOwnBrowser(
      async (page) => {
        await signIn(page, api.baseUrl, admin);
        await page.goto(`${api.baseUrl}/admin/roles`);
        await page.getByTestId(`role-${roleName}`).waitFor();
        expect(await overflowsX(page)).toBe(false);
        await page.goto(`${api.baseUrl}/admin/audit`);
        await page.getByTestId('audit-entry').first().waitFor();
        expect(await overflowsX(page)).toBe(false);
      },
      { viewport: { width: 390, height: 844 } },
    );
  });
});

describe('a team that requires MFA', () => {
  it('a team admin turns it on; an unenrolled member is told, refused, led to enrol, and then acts', async () => {
    const mfaTeam = await createTeam(api.deps.db.em);
    const teamAdmin = await createUser(api.deps.db.em, { teams: [mfaTeam], role: 'admin' });
    const held = await createUser(api.deps.db.em, { teams: [mfaTeam], role: 'admin' });
    const newcomer = await createUser(api.deps.db.em);

    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, teamAdmin);
      await page.getByRole('link', { name: 'Admin' }).click();
      const settings = page.getByRole('form', { name: 'Team settings' });
      await settings.getByLabel('Require two-factor authentication').check();
      // The admin has no second factor either, and is told what saving does to them.
      await settings.getByText('you too may only read').waitFor();
      await settings.getByRole('button', { name: 'Save settings' }).click();
      await settings.getByRole('status').filter({ hasText: 'two-factor authentication required' }).waitFor();
      await page.getByTestId('mfa-notice').filter({ hasText: mfaTeam.slug }).waitFor();
    });
    expect((await client(api, await tokenFor(api, teamAdmin.id)).get(`/api/v1/teams/${mfaTeam.slug}/settings`)).body.requireMfa).toBe(true);

    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, held);
      const notice = page.getByTestId('mfa-notice');
      await expect(notice.textContent()).resolves.toContain(`The team ${mfaTeam.slug} requires a second factor`);

      await page.getByRole('link', { name: 'Admin' }).click();
      await page.getByLabel('Email of an existing user').fill(newcomer.email);
      await page.getByRole('button', { name: 'Add or update' }).click();
      await page.getByTestId('action-message').filter({ hasText: 'requires multi-factor authentication' }).waitFor();
      await notice.and(page.getByRole('alert')).filter({ hasText: 'Refused: two-factor authentication is required.' }).waitFor();
      await screenshot(page, 'mfa-required-refusal');

      await notice.getByRole('link', { name: 'Set up two-factor authentication' }).click();
      await page.waitForURL(/\/account#account-mfa$/);
      // The password is asked again before a factor is enrolled; the page leads there first.
      const password = page.getByRole('form', { name: 'Set up two-factor authentication' }).getByLabel('Your password');
      await page.waitForFunction(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id === 'mfa-password', undefined, { timeout: 5000 });
      await password.fill(PASSWORD);
      await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
      const secret = (await page.getByTestId('mfa-secret').textContent())!;
      await page.getByLabel('Code from the app').fill(await generate({ secret }));
      await page.getByRole('button', { name: 'Turn on' }).click();
      await page.getByTestId('mfa-status').waitFor();
      await notice.waitFor({ state: 'detached' });

      await page.getByRole('link', { name: 'Admin' }).click();
      await page.getByLabel('Email of an existing user').fill(newcomer.email);
      await page.getByRole('button', { name: 'Add or update' }).click();
      await page.getByTestId('action-message').filter({ hasText: `${newcomer.email} is now viewer in ${mfaTeam.slug}.` }).waitFor();

      // A team admin's audit log: their team only, the policy change among it.
      await adminNav(page).getByRole('link', { name: 'Audit log' }).click();
      const rows = page.getByTestId('audit-entry');
      await rows.locator('td[data-label=Action]', { hasText: 'team.settings.update' }).waitFor();
      expect(await page.getByRole('form', { name: 'Filter the audit log' }).getByLabel('Team').locator('option').allTextContents()).toEqual([mfaTeam.slug]);
      expect(new Set(await rows.locator('td[data-label=Team]').allTextContents())).toEqual(new Set([mfaTeam.slug]));
      const change = rows.filter({ has: page.locator('td[data-label=Action]', { hasText: 'team.settings.update' }) });
      await expect(change.locator('td[data-label=Actor]').textContent()).resolves.toBe(teamAdmin.email);
    });
    const members = (await client(api, await tokenFor(api, held.id)).get(`/api/v1/teams/${mfaTeam.slug}/members`)).body.items as { userId: string }[];
    expect(members.map((m) => m.userId)).toContain(newcomer.id);
  });
});
