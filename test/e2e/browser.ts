import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from '@jest/globals';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (scripts/services.sh ensure_chromium); playwright's own download cannot work here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Headless Chromium with a fresh profile in a temporary user-data dir (removed on close), so no
 * state leaks between runs. Each call is one isolated browser: cookies and sessionStorage unshared.
 */
export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opssight-chromium-'));
  const context: BrowserContext = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: opts.viewport ?? { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const close = async () => {
    await context.close().catch(() => undefined);
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, close };
}

/**
 * A TCP proxy in front of the API that can cut every WebSocket passing through it: both legs are
 * destroyed at once, so the browser sees its socket drop while the run goes on, as on a network
 * failure or a restarted API instance. Plain HTTP passes through untouched.
 */
export async function startCuttableProxy(target: { host: string; port: number }) {
  const sockets = new Set<{ client: net.Socket; upstream: net.Socket; ws: boolean }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const pair = { client, upstream, ws: false };
    sockets.add(pair);
    client.once('data', (first) => {
      pair.ws = /^GET \/ws[?/ ]/.test(first.toString('latin1', 0, 16)) && /\r\nupgrade:\s*websocket/i.test(first.toString('latin1'));
    });
    client.pipe(upstream).pipe(client);
    const end = () => {
      sockets.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Destroys every WebSocket connection; returns how many there were. */
    cutWebSockets(): number {
      let n = 0;
      for (const pair of sockets) {
        if (!pair.ws) continue;
        n++;
        pair.upstream.destroy();
        pair.client.destroy();
      }
      return n;
    },
    close: async () => {
      for (const { client, upstream } of sockets) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((r) => server.close(r));
    },
  };
}

// Page helpers shared by the dashboard tests. Their in-page functions run in Chromium, but these files
// are type-checked for Node (no DOM library), hence the casts. (String expressions would not do in
// waitForFunction: the dashboard's Content-Security-Policy forbids eval.)
type LogViewEl = { __logView?: { snapshot(): { seq: number; text: string }[] } };
type Doc = { document: { querySelector(s: string): LogViewEl | null; querySelectorAll(s: string): { length: number } } };

/** Every line the log viewer holds (it is virtualised: most are not in the DOM). */
export const viewerLines = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as Doc).document.querySelector('[data-testid=log]')?.__logView?.snapshot() ?? []);

export const waitForLogLine = (page: Page, pattern: RegExp, timeout = 90_000) =>
  page.waitForFunction(
    (src) => (globalThis as unknown as Doc).document.querySelector('[data-testid=log]')?.__logView?.snapshot().some((l) => new RegExp(src).test(l.text)) ?? false,
    pattern.source,
    { timeout },
  );

/** Waits until the log viewer holds exactly `n` lines. */
export const waitForLineCount = (page: Page, n: number, timeout = 90_000) =>
  page.waitForFunction((want) => (globalThis as unknown as Doc).document.querySelector('[data-testid=log]')?.__logView?.snapshot().length === want, n, { timeout });

/** Waits until `selector` matches exactly `n` elements. */
export const waitForCount = (page: Page, selector: string, n: number, timeout = 30_000) =>
  page.waitForFunction(([sel, want]) => (globalThis as unknown as Doc).document.querySelectorAll(sel).length === want, [selector, n] as const, { timeout });

/** Signs in through the login form and waits for the runs list. */
export async function signIn(page: Page, baseUrl: string, who: { email: string; password: string }) {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Runs' }).waitFor();
}

/**
 * A new tab of `context`, closed whatever the test's outcome (a leftover tab would keep a socket and a
 * session). When `fn` fails, what the page showed then goes to test-artifacts/failed-*.png (kept by CI):
 * a wait that timed out says nothing of what was on the screen instead.
 */
export async function withPage(context: BrowserContext, fn: (page: Page) => Promise<void>): Promise<void> {
  const page = await context.newPage();
  try {
    await fn(page);
  } catch (err) {
    const test = (expect.getState().currentTestName ?? 'page').replace(/[^A-Za-z0-9]+/g, '-').slice(0, 80);
    await screenshot(page, `failed-${test}-${Date.now()}`).catch(() => undefined);
    // CI's log is often all there is: the page's address, title and alerts go to it too.
    const seen = await page
      .evaluate(`({ url: location.href, h1: document.querySelector('h1')?.textContent, alerts: [...document.querySelectorAll('[role=alert]')].map((e) => e.textContent) })`)
      .catch(() => null);
    console.error(`the page when "${test}" failed: ${JSON.stringify(seen)}`);
    throw err;
  } finally {
    await page.close();
  }
}

/**
 * A screenshot into test-artifacts/ (kept by CI). The README's screenshots are some of these:
 * `npm run docs` runs the browser tests and copies the ones the README shows into docs/screenshots.
 */
export const ARTIFACTS = path.resolve('test-artifacts');
export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
}

/** The computed value of a CSS custom property of the page's root (the theme's colours). */
export const cssVar = (page: Page, name: string) =>
  page.evaluate((n) => {
    const probe = (globalThis as unknown as { document: { body: { appendChild(e: unknown): void; removeChild(e: unknown): void }; createElement(t: string): { style: { color: string } } }; getComputedStyle(e: unknown): { color: string } });
    const el = probe.document.createElement('span');
    el.style.color = `var(${n})`;
    probe.document.body.appendChild(el);
    const color = probe.getComputedStyle(el).color;
    probe.document.body.removeChild(el);
    return color;
  }, name);

/** A browser of its own (a fresh session) for one test, closed whatever the outcome. */
export async function inOwnBrowser(fn: (page: Page) => Promise<void>, opts: Parameters<typeof launchBrowser>[0] = {}): Promise<void> {
  const browser = await launchBrowser(opts);
  try {
    await withPage(browser.context, fn);
  } finally {
    await browser.close();
  }
}

/** A computed style property (`color`, `whiteSpace`, …) of the first element matching `selector`. */
export const computedStyle = (page: Page, selector: string, prop: string) =>
  page
    .locator(selector)
    .first()
    .evaluate((el, p) => (el.ownerDocument.defaultView!.getComputedStyle(el) as unknown as Record<string, string>)[p], prop);
