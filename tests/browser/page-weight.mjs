// What a first visit of each page transfers, measured in headless Chromium (the system's browser):
// every response's body, grouped by kind. Used by scripts/page-weight.py.
//
//   node tests/browser/page-weight.mjs BASE_URL PAGE...      prints one JSON object
import { chromium } from 'playwright-core';

const [baseArg, ...pages] = process.argv.slice(2);
const base = baseArg.endsWith('/') ? baseArg : baseArg + '/';

const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
});

function kind(type, url) {
    if (type === 'document') return 'html';
    if (type === 'script') return 'scripts';
    if (type === 'stylesheet') return 'styles';
    if (type === 'font') return 'fonts';
    if (/\.(woff2?|ttf|otf|eot)$/.test(url)) return 'fonts';
    return 'other';
}

const out = {};
try {
    for (const rel of pages) {
        // A fresh context per page: an empty cache, as on a first visit.
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        await context.route('**/*', (route) => {
            const url = new URL(route.request().url());
            return url.hostname === '127.0.0.1' || url.hostname === 'localhost' ? route.continue() : route.abort();
        });
        const page = await context.newPage();
        const pending = [];
        const totals = { html: 0, scripts: 0, styles: 0, fonts: 0, other: 0 };
        const files = [];
        page.on('response', (resp) => {
            pending.push(resp.body().then((body) => {
                const k = kind(resp.request().resourceType(), resp.url());
                totals[k] += body.length;
                files.push([resp.url().replace(base, ''), body.length]);
            }, () => {}));
        });
        await page.goto(base + rel, { waitUntil: 'load' });
        await page.waitForLoadState('networkidle');
        await Promise.all(pending);
        // A diagram of ours is an inline SVG (figure.diagram); one left for a script to draw is a
        // <pre class="mermaid">, in our book (a fallback) or in plain mdBook's (raw source).
        const diagram = await page.evaluate(() => !!document.querySelector('figure.diagram, pre.mermaid, code.language-mermaid'));
        const scripted = files.filter(([url]) => /mermaid/.test(url)).map(([url]) => url);
        const total = Object.values(totals).reduce((a, b) => a + b, 0);
        out[rel] = { total, ...totals, diagram, scripted, files: files.sort((a, b) => b[1] - a[1]) };
        await context.close();
    }
} finally {
    await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
