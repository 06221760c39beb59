// A real Chromium for tests of the dashboard: Debian's `chromium` driven by playwright-core, one persistent
// profile per test in a temp dir, closed and removed when the test ends. Every request the page makes outside
// the admin listener is refused and reported, and so is every script error and CSP violation.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from './cutover-harness.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots of every test run; .test-artifacts/ is git-ignored. */
export const ARTIFACTS = join(ROOT, '.test-artifacts', 'dashboard');

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const WAIT_MS = 10_000;

export interface BrowserPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Script errors, console errors, CSP violations and requests that left the admin origin, as they happened. */
  readonly problems: string[];
}

/** Opens `url` in a fresh headless Chromium; the browser is closed and its profile removed after the test. */
export async function openPage(t: TestContext, url: string, options: { colorScheme?: 'light' | 'dark' } = {}): Promise<BrowserPage> {
  const profile = mkdtempSync(join(tmpdir(), 'cutover-chromium-'));
  let context: BrowserContext | null = null;
  t.after(async () => {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
  });
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 1000 },
    locale: 'en-GB',
    colorScheme: options.colorScheme ?? 'light',
    timeout: 30_000,
  });
  context.setDefaultTimeout(WAIT_MS);
  const origin = new URL(url).origin;
  const problems: string[] = [];
  await context.route('**/*', (route) => {
    if (new URL(route.request().url()).origin === origin) return route.continue();
    problems.push(`request outside the admin listener: ${route.request().url()}`);
    return route.abort();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    // A 401 is how the page learns it needs a token; the browser logs it as a failed load.
    if (msg.type() === 'error' && !/status of 401/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  const response = await page.goto(url);
  if (response?.status() !== 200) {
    throw new Error(`${url} answered ${response?.status()}, not the dashboard: is serveDashboardAsset wired into admin-server.ts?`);
  }
  return { page, context, problems };
}

/** Saves a full-page screenshot under .test-artifacts/dashboard/ (and to `alsoTo` if given); returns its path. */
export async function screenshot(page: Page, name: string, alsoTo?: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  if (alsoTo !== undefined) await page.screenshot({ path: alsoTo, fullPage: true });
  return path;
}

/** Waits until the element `selector` exists and its text matches `text`; fails naming what it saw instead. */
export async function waitForText(page: Page, selector: string, text: string | RegExp, ms = WAIT_MS): Promise<void> {
  const pattern = typeof text === 'string' ? { source: escape(text), flags: '' } : { source: text.source, flags: text.flags };
  try {
    await page.waitForFunction(
      ([sel, source, flags]) => new RegExp(source!, flags).test(document.querySelector(sel!)?.textContent ?? ''),
      [selector, pattern.source, pattern.flags],
      { timeout: ms },
    );
  } catch {
    const seen = await page.locator(selector).first().textContent({ timeout: 100 }).catch(() => '(no such element)');
    const shot = await screenshot(page, `failed-${Date.now()}`).catch(() => 'none');
    throw new Error(`${selector} did not show ${text} within ${ms} ms; it shows: ${seen} (screenshot: ${shot})`);
  }
}

/** The selector of one environment's panel of one app. */
export function envPanel(app: string, color: 'blue' | 'green'): string {
  return `section.app[data-app="${app}"] article.env[data-color="${color}"]`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
