// Drives headless Chromium (the system's, never a downloaded one) through the built book for
// tests/reader_experience.rs. It only observes: each scenario prints one JSON object (the last line
// of stdout) with what it saw, and the Rust test decides what is right.
//
//   node tests/browser/reader.mjs SCENARIO BASE_URL OUT_DIR
//
// BASE_URL is the book served on 127.0.0.1 (or a file:// URL of an unpacked offline copy).
// CHROMIUM names the browser binary. Every request to another host is refused and recorded, except
// the Rust Playground's two endpoints, which are faked and recorded.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const [scenario, baseArg, outDir] = process.argv.slice(2);
const base = baseArg.endsWith('/') ? baseArg : baseArg + '/';
const THEMES = ['light', 'rust', 'coal', 'navy', 'ayu'];
const DARK = ['coal', 'navy', 'ayu'];

const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
});

const external = [];        // requests to other hosts, refused
const playground = [];      // requests to the Rust Playground, faked

async function newContext(opts = {}) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...opts });
    await context.route('**/*', async (route) => {
        const req = route.request();
        const url = new URL(req.url());
        if (url.protocol === 'file:' || url.protocol === 'data:' || url.hostname === '127.0.0.1' || url.hostname === 'localhost') {
            return route.continue();
        }
        const cors = {
            'access-control-allow-origin': '*',
            'access-control-allow-headers': 'content-type',
            'access-control-allow-methods': 'POST, GET, OPTIONS',
        };
        if (url.hostname === 'play.rust-lang.org') {
            if (req.method() === 'OPTIONS') {
                return route.fulfill({ status: 204, headers: cors });
            }
            playground.push({ url: req.url(), method: req.method(), body: req.postData() });
            if (url.pathname === '/meta/crates') {
                return route.fulfill({
                    status: 200, headers: cors, contentType: 'application/json',
                    body: JSON.stringify({ crates: ['tokio', 'futures', 'tokio_util', 'tokio_stream', 'rayon', 'tracing'].map((id) => ({ id, name: id, version: '1.0.0' })) }),
                });
            }
            if (url.pathname === '/evaluate.json') {
                return route.fulfill({
                    status: 200, headers: cors, contentType: 'application/json',
                    body: JSON.stringify({ result: 'faked playground output\n', error: null }),
                });
            }
        }
        external.push(req.url());
        return route.abort();
    });
    if (opts.theme) {
        await context.addInitScript((t) => {
            if (!sessionStorage.getItem('theme-set')) {
                localStorage.setItem('mdbook-theme', t);
                sessionStorage.setItem('theme-set', '1');
            }
        }, opts.theme);
    }
    return context;
}

// mdBook's theme picker, as a reader uses it.
async function pickTheme(page, id) {
    if (!(await page.isVisible('#theme-list'))) {
        await page.click('#theme-toggle');
    }
    await page.click('#' + id);
}

// Diagrams are inline SVGs drawn when the book was built (figure.diagram): nothing to wait for but
// the page and its fonts. `theme`, when given, is the mdBook theme the page must be in. Resolves to
// the page's diagram state: "rendered" (every diagram is an SVG), "none" (no diagram) or "error".
async function waitDiagrams(page, theme, timeout = 60000) {
    await page.waitForFunction((t) => !t || document.documentElement.classList.contains(t), theme, { timeout });
    await page.evaluate(() => document.fonts && document.fonts.ready);
    return page.evaluate(diagramState);
}

function diagramState() {
    const figures = Array.from(document.querySelectorAll('figure.diagram'));
    if (!figures.length) return 'none';
    return figures.every((f) => f.querySelector('svg')) ? 'rendered' : 'error';
}

function pageTheme() {
    return ['light', 'rust', 'coal', 'navy', 'ayu'].find((t) => document.documentElement.classList.contains(t)) || null;
}

// Colour arithmetic for the legibility checks, shared by the evaluations below: run in the page
// by inPage(), which hands each evaluation a fresh kit (so it works with JavaScript disabled too).
function colourKit() {
    function parse(c) {
        const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)/.exec(c || '');
        if (m) return [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]];
        // What Chromium makes of a color-mix() in srgb (the diagrams' colours in the dark themes).
        const s = /color\(srgb ([\d.e-]+) ([\d.e-]+) ([\d.e-]+)(?: \/ ([\d.]+))?\)/.exec(c || '');
        if (s) return [+s[1] * 255, +s[2] * 255, +s[3] * 255, s[4] === undefined ? 1 : +s[4]];
        return null;
    }
    function lum(c) {
        const l = c.slice(0, 3).map((x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
        return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
    }
    // A colour with alpha painted over an opaque one.
    function over(top, bottom) {
        const a = top[3];
        return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
    }
    function contrast(a, b) {
        const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
        return (x + 0.05) / (y + 0.05);
    }
    // The opaque colour behind an element: its own and its ancestors' backgrounds, over white.
    function bgOf(el) {
        const stack = [];
        for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
            const c = parse(getComputedStyle(e).backgroundColor);
            if (c && c[3] > 0) stack.push(c);
            if (c && c[3] === 1) break;
        }
        let bg = [255, 255, 255, 1];
        for (let i = stack.length - 1; i >= 0; i--) bg = over(stack[i], bg);
        return bg;
    }
    // The contrast of an element's text (or of a pseudo-element's) against what is behind it,
    // rounded to two decimals.
    function ratio(el, pseudo) {
        const bg = bgOf(el);
        const fg = over(parse(getComputedStyle(el, pseudo).color), bg);
        return Math.round(contrast(fg, bg) * 100) / 100;
    }
    return { parse, lum, over, contrast, bgOf, ratio };
}

// Runs fn(kit) in the page, with kit = colourKit().
function inPage(page, fn) {
    return page.evaluate(`(${fn})((${colourKit})())`);
}

// In the page: what the diagrams look like, and how legible their text is.
function diagramFacts(kit) {
    const { parse, over, contrast, bgOf: pageBg } = kit;
    const SHAPES = new Set(['rect', 'polygon', 'path', 'circle', 'ellipse']);
    const out = [];
    for (const [index, pre] of Array.from(document.querySelectorAll('figure.diagram')).entries()) {
        const svg = pre.querySelector('svg');
        const fact = { index, kind: pre.dataset.diagramKind, svg: !!svg, width: 0, texts: 0, worst: null, worstText: '', fills: [] };
        out.push(fact);
        if (!svg) continue;
        fact.width = svg.getBoundingClientRect().width;
        const behind = pageBg(pre);
        // Text: SVG <text> (sequence, gantt) and HTML labels in <foreignObject> (flowchart, state).
        // The elements that hold text directly: the ones whose colour the reader sees.
        const texts = Array.from(svg.querySelectorAll('text, tspan, foreignObject *'))
            .filter((t) => Array.from(t.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim()));
        for (const t of texts) {
            t.scrollIntoView({ block: 'center' });
            const r = t.getBoundingClientRect();
            if (r.width < 1 || r.height < 1) continue;
            const cs = getComputedStyle(t);
            if (cs.visibility === 'hidden' || cs.display === 'none' || +cs.opacity === 0) continue;
            const colour = parse(t instanceof SVGElement ? (cs.fill && cs.fill !== 'none' ? cs.fill : cs.color) : cs.color);
            if (!colour) continue;
            // What is painted under the text's centre: the topmost filled shape of the diagram,
            // or a label's own background, or the page.
            let under = null;
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            for (const e of document.elementsFromPoint(x, y)) {
                if (e === t || t.contains(e) || e.contains(t) && !(e instanceof SVGElement && SHAPES.has(e.tagName))) {
                    if (!(e instanceof SVGSVGElement) && !svg.contains(e)) break;
                    if (e instanceof HTMLElement && e !== t) {
                        const c = parse(getComputedStyle(e).backgroundColor);
                        if (c && c[3] > 0.5) { under = c; break; }
                    }
                    continue;
                }
                if (!svg.contains(e)) break;
                if (e instanceof SVGElement && SHAPES.has(e.tagName)) {
                    const s = getComputedStyle(e);
                    const c = parse(s.fill);
                    const op = (+s.fillOpacity) * (+s.opacity);
                    if (c && op > 0.05 && c[3] > 0) { under = over([c[0], c[1], c[2], c[3] * op], behind); break; }
                } else if (e instanceof HTMLElement) {
                    const c = parse(getComputedStyle(e).backgroundColor);
                    if (c && c[3] > 0.5) { under = over(c, behind); break; }
                }
            }
            const bg = under || behind;
            const ratio = contrast(over(colour, bg), bg);
            fact.texts += 1;
            if (fact.worst === null || ratio < fact.worst) {
                fact.worst = Math.round(ratio * 100) / 100;
                fact.worstText = t.textContent.trim().slice(0, 40);
            }
        }
        fact.fills = Array.from(svg.querySelectorAll('rect, polygon, path'))
            .map((e) => getComputedStyle(e).fill).filter((f) => f && f !== 'none').slice(0, 3);
    }
    return out;
}

// What a reader sees of each pair (an asyncio program beside its tokio counterpart, theme/pairs.js):
// its tabs (label, selected, contrast against what is under them), which programs and outputs are
// visible, and the labels shown above each program when there are no tabs.
function pairFacts(kit) {
    const { ratio } = kit;
    const visible = (el) => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    return Array.from(document.querySelectorAll('div.pair')).map((pair) => {
        const py = pair.querySelector('code.language-python');
        const rs = pair.querySelector('code.language-rust');
        const pre = (code) => code && (code.parentElement.classList.contains('playground') ? code.parentElement.parentElement : code.parentElement);
        const label = (el) => {
            const c = el ? getComputedStyle(el, '::before').content : 'none';
            return c && c !== 'none' ? c.replace(/^"|"$/g, '') : null;
        };
        return {
            kind: pair.getAttribute('data-pair'),
            tabs: Array.from(pair.querySelectorAll('[role="tab"]')).map((t) => ({
                lang: t.getAttribute('data-lang'),
                label: t.textContent,
                selected: t.getAttribute('aria-selected') === 'true',
                visible: visible(t),
                ratio: ratio(t),
                controls: !!document.getElementById(t.getAttribute('aria-controls')),
            })),
            python: visible(py),
            rust: visible(rs),
            outputs: Array.from(pair.querySelectorAll('code.output')).filter(visible).length,
            labels: [label(pre(py)), label(pre(rs))],
            labelRatios: [pre(py), pre(rs)].map((p) => (label(p) ? ratio(p, '::before') : null)),
            runButton: !!pair.querySelector('pre.playground .play-button'),
        };
    });
}

// A program of a pair (theme/pairs.js) may sit in the tab that is not shown: pick its tab, as a
// reader would, before using its buttons.
async function showPairTab(pre) {
    const tab = await pre.evaluateHandle((el) => {
        const panel = el.closest('[role="tabpanel"]');
        return panel && panel.hidden ? document.getElementById(panel.getAttribute('aria-labelledby')) : null;
    });
    const element = tab.asElement();
    if (element) {
        await element.click();
    }
}

async function run() {
    const result = {};
    const shots = outDir ? path.join(outDir, 'screenshots') : null;
    switch (scenario) {
    case 'diagrams': {
        // Every theme: each diagram of two pages that hold all four kinds (flowchart, sequence,
        // gantt, state) is an SVG, and its text stands out from what is under it.
        result.themes = {};
        for (const theme of THEMES) {
            const context = await newContext({ theme });
            const page = await context.newPage();
            result.themes[theme] = {};
            for (const rel of ['part2/06g-production-patterns.html', 'part1/01-before-programming.html']) {
                await page.goto(base + rel);
                result.themes[theme][rel] = {
                    state: await waitDiagrams(page, theme),
                    htmlClass: await page.evaluate(() => document.documentElement.className),
                    diagrams: await inPage(page, diagramFacts),
                };
            }
            await context.close();
        }
        // Switching theme: the diagrams are drawn again in the new colours, without a reload.
        const context = await newContext({ theme: 'light' });
        const page = await context.newPage();
        const rel = 'part2/06g-production-patterns.html';
        await page.goto(base + rel);
        await waitDiagrams(page, 'light');
        await page.evaluate(() => { window.__sameDocument = true; });
        const before = await inPage(page, diagramFacts);
        await pickTheme(page, 'navy');
        await waitDiagrams(page, 'navy');
        const after = await inPage(page, diagramFacts);
        result.switch = {
            page: rel,
            sameDocument: await page.evaluate(() => window.__sameDocument === true),
            theme: await page.evaluate(pageTheme),
            before, after,
        };
        // And back to a light theme.
        await pickTheme(page, 'rust');
        await waitDiagrams(page, 'rust');
        result.switch.back = await page.evaluate(pageTheme);
        result.switch.backSameDocument = await page.evaluate(() => window.__sameDocument === true);
        await context.close();
        break;
    }
    case 'weight': {
        // Which scripts a first visit fetches, on a page without a diagram and on pages at two
        // depths with diagrams.
        result.pages = {};
        for (const rel of ['404.html', 'no/such/page.html', 'introduction.html', 'part2/06c-running-many-tasks.html', 'reference/glossary.html']) {
            const context = await newContext();
            const page = await context.newPage();
            const seen = [];
            page.on('response', async (resp) => {
                let bytes = 0;
                try { bytes = (await resp.body()).length; } catch (e) { bytes = -1; }
                seen.push({ url: resp.url(), status: resp.status(), type: resp.request().resourceType(), bytes });
            });
            const resp = await page.goto(base + rel);
            await page.waitForLoadState('networkidle');
            const hasDiagram = await page.evaluate(() => !!document.querySelector('figure.diagram'));
            const diagrams = await waitDiagrams(page);
            await page.waitForTimeout(300);
            result.pages[rel] = {
                status: resp.status(),
                hasDiagram,
                diagrams,
                title: await page.title(),
                bodyFont: await page.evaluate(() => getComputedStyle(document.body).fontFamily),
                responses: seen,
            };
            await context.close();
        }
        break;
    }
    case 'run': {
        // The Run button and the copy button of every runnable block on a page.
        const rel = process.env.PAGE;
        const context = await newContext();
        await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(base).origin });
        const page = await context.newPage();
        await page.goto(base + rel);
        await page.waitForFunction(() => document.querySelectorAll('pre.playground .play-button:not(.hidden)').length > 0, null, { timeout: 15000 });
        const blocks = await page.$$('pre.playground');
        result.blocks = [];
        for (const [i, pre] of blocks.entries()) {
            const facts = { index: i };
            await showPairTab(pre);
            const play = await pre.$('.play-button');
            // book.js shows the Run button by removing its `hidden` class once the Playground's
            // crate list arrived (and keeps it hidden for no_run).
            facts.playVisible = !!play && await play.evaluate((b) => !b.classList.contains('hidden') && getComputedStyle(b).display !== 'none');
            facts.hasPlaygroundLink = !!(await pre.$('.playground-link'));
            facts.link = facts.hasPlaygroundLink ? await pre.$eval('.playground-link', (a) => a.href) : null;
            facts.codeClasses = await pre.$eval('code', (c) => c.className);
            if (facts.playVisible) {
                const n = playground.length;
                await pre.hover();
                await play.click();
                await page.waitForFunction((p) => p.querySelector('.result') && /faked playground output/.test(p.querySelector('.result').textContent), pre, { timeout: 10000 });
                const req = playground.slice(n).find((r) => r.url.endsWith('/evaluate.json'));
                facts.request = req ? JSON.parse(req.body) : null;
            }
            const clip = await pre.$('.clip-button');
            if (clip) {
                await page.evaluate(() => navigator.clipboard.writeText('(nothing copied)'));
                await pre.hover();
                await clip.click();
                await page.waitForTimeout(100);
                facts.copied = await page.evaluate(() => navigator.clipboard.readText());
            }
            result.blocks.push(facts);
        }
        result.crateRequests = playground.filter((r) => r.url.endsWith('/meta/crates')).length;
        await context.close();
        break;
    }
    case 'edits': {
        const rel = process.env.PAGE;
        const context = await newContext();
        const page = await context.newPage();
        await page.goto(base + rel);
        await page.waitForFunction(() => document.querySelectorAll('pre.playground .play-button:not(.hidden)').length > 0, null, { timeout: 15000 });
        const pre = page.locator('pre.playground').first();
        const code = pre.locator('code').first();
        result.original = await code.evaluate((c) => c.textContent);
        result.editLabel = await pre.locator('.edit-button').getAttribute('aria-label');
        await pre.hover();
        result.resetHiddenBefore = await pre.locator('.reset-button').evaluate((b) => getComputedStyle(b).display === 'none');
        await pre.hover();
        await pre.locator('.edit-button').click();
        result.editable = await code.getAttribute('contenteditable');
        // Type at the very end of the program.
        await code.evaluate((c) => {
            c.focus();
            const r = document.createRange();
            r.selectNodeContents(c);
            r.collapse(false);
            const s = window.getSelection();
            s.removeAllRanges();
            s.addRange(r);
        });
        const urlBefore = page.url();
        await page.keyboard.type('\n// edited by the reader');
        // The arrow keys move the caret while editing: they must not turn the page.
        await page.keyboard.press('ArrowLeft');
        await page.keyboard.press('ArrowRight');
        await page.waitForTimeout(300);
        result.stayedOnPage = page.url() === urlBefore;
        result.edited = await code.evaluate((c) => c.textContent);
        await page.reload();
        await page.waitForFunction(() => document.querySelectorAll('pre.playground .play-button:not(.hidden)').length > 0, null, { timeout: 15000 });
        result.afterReload = await code.evaluate((c) => c.textContent);
        result.resetVisible = await pre.locator('.reset-button').isVisible();
        result.resetLabel = await pre.locator('.reset-button').getAttribute('aria-label');
        result.status = await pre.locator('.edit-status').textContent();
        await pre.locator('.playground-link').hover();
        result.linkAfterReload = await pre.locator('.playground-link').getAttribute('href');
        const n = playground.length;
        await pre.locator('.play-button').click();
        await page.waitForFunction(() => /faked/.test((document.querySelector('pre.playground .result') || {}).textContent || ''), null, { timeout: 10000 });
        const req = playground.slice(n).find((r) => r.url.endsWith('/evaluate.json'));
        result.runAfterReload = req ? JSON.parse(req.body) : null;
        await pre.locator('.reset-button').click();
        result.afterReset = await code.evaluate((c) => c.textContent);
        result.editableAfterReset = await code.getAttribute('contenteditable');
        result.storedAfterReset = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('async-rust-book:snippet:')).length);
        await page.reload();
        await page.waitForLoadState('load');
        result.afterResetReload = await code.evaluate((c) => c.textContent);
        await context.close();
        break;
    }
    case 'search': {
        // TERMS: {term: [pages that teach it]}. Type the term, then follow the first result that
        // is one of those pages.
        const terms = JSON.parse(process.env.TERMS);
        const context = await newContext();
        const page = await context.newPage();
        result.terms = {};
        for (const [term, teaching] of Object.entries(terms)) {
            await page.goto(base + 'introduction.html');
            await page.keyboard.press('s');
            await page.waitForSelector('#searchbar', { state: 'visible' });
            // Typed as a reader does: mdBook searches on keyup.
            await page.locator('#searchbar').pressSequentially(term, { delay: 20 });
            await page.waitForFunction(() => document.querySelectorAll('#searchresults li a').length > 0, null, { timeout: 15000 }).catch(() => {});
            const hits = await page.$$eval('#searchresults li a', (as) => as.map((a) => a.getAttribute('href')));
            const rank = hits.findIndex((h) => teaching.includes(h.split(/[?#]/)[0]));
            const facts = { hits: hits.slice(0, 5), rank };
            if (rank >= 0) {
                await Promise.all([page.waitForNavigation(), page.click(`#searchresults li a >> nth=${rank}`)]);
                const u = new URL(page.url());
                facts.landed = u.pathname.replace(new URL(base).pathname, '');
                facts.marked = await page.$$eval('main mark', (ms) => ms.length);
            }
            result.terms[term] = facts;
        }
        await context.close();
        break;
    }
    case 'print': {
        const context = await newContext();
        // print.html opens the print dialog by itself: record when, instead of printing.
        await context.addInitScript(() => {
            window.__printed = [];
            window.print = () => window.__printed.push(Array.from(document.querySelectorAll('figure.diagram')).every((f) => f.querySelector('svg')) ? 'rendered' : 'error');
        });
        const page = await context.newPage();
        await page.goto(base + 'print.html');
        result.state = await waitDiagrams(page, null, 240000);
        await page.waitForTimeout(500);
        result.printed = await page.evaluate(() => window.__printed);
        result.diagrams = await page.evaluate(() => document.querySelectorAll('figure.diagram').length);
        result.rendered = await page.evaluate(() => Array.from(document.querySelectorAll('figure.diagram')).filter((p) => p.querySelector('svg')).length);
        // On paper: every diagram is drawn and fits the page's width.
        await page.emulateMedia({ media: 'print' });
        result.printDiagrams = await page.$$eval('figure.diagram svg', (svgs) => svgs.map((s) => {
            const r = s.getBoundingClientRect();
            return { width: Math.round(r.width), height: Math.round(r.height), parent: Math.round(s.parentElement.getBoundingClientRect().width) };
        }));
        await page.emulateMedia({ media: 'screen' });
        result.text = await page.evaluate(() => document.querySelector('main').textContent);
        result.h1 = await page.$$eval('main h1', (hs) => hs.map((h) => h.textContent.trim()));
        await page.emulateMedia({ media: 'print' });
        result.printHidden = await page.evaluate(() => ['#sidebar', '#menu-bar'].filter((s) => document.querySelector(s) && getComputedStyle(document.querySelector(s)).display !== 'none'));
        await context.close();
        break;
    }
    case 'navigation': {
        const context = await newContext();
        const page = await context.newPage();
        // Keyboard: arrows turn the page.
        await page.goto(base + 'introduction.html');
        await Promise.all([page.waitForNavigation(), page.keyboard.press('ArrowRight')]);
        result.afterRight = page.url().replace(base, '');
        await Promise.all([page.waitForNavigation(), page.keyboard.press('ArrowLeft')]);
        result.afterLeft = page.url().replace(base, '');
        // Keyboard: the code buttons can take the focus (mdBook hides them until hovered), and
        // show themselves when they do.
        await page.goto(base + 'part2/06a-first-async-program.html');
        await page.waitForLoadState('load');
        const focused = await page.evaluate(() => {
            const b = document.querySelector('pre.playground .buttons button');
            b.focus();
            return document.activeElement === b;
        });
        await page.waitForTimeout(400);
        result.focus = {
            focused,
            opacity: await page.evaluate(() => getComputedStyle(document.activeElement.parentElement).opacity),
        };
        // Every page: the edit link, and an accessible name on every control.
        const pages = JSON.parse(process.env.PAGES);
        result.pages = {};
        for (const rel of pages) {
            await page.goto(base + rel);
            await page.waitForLoadState('load');
            await page.waitForTimeout(200);
            result.pages[rel] = await page.evaluate(() => {
                const edit = document.querySelector('a[href*="/edit/"]');
                const unnamed = Array.from(document.querySelectorAll('button, a.playground-link, [role="button"], input'))
                    .filter((b) => !b.disabled)
                    .filter((b) => {
                        const name = (b.getAttribute('aria-label') || b.getAttribute('title') || '').trim();
                        const text = (b.textContent || '').trim();
                        return !name && !text && !b.labels?.length && b.getAttribute('aria-labelledby') === null;
                    })
                    .map((b) => b.outerHTML.slice(0, 120));
                const ours = Array.from(document.querySelectorAll('.edit-button, .reset-button, .playground-link'))
                    .filter((b) => !(b.getAttribute('aria-label') || '').trim())
                    .map((b) => b.outerHTML.slice(0, 120));
                return {
                    edit: edit ? edit.getAttribute('href') : null,
                    editLabel: edit ? (edit.getAttribute('aria-label') || edit.getAttribute('title')) : null,
                    unnamed, oursWithoutAriaLabel: ours,
                    editButtons: document.querySelectorAll('.edit-button').length,
                    playgrounds: document.querySelectorAll('pre.playground').length,
                };
            });
        }
        // The 404 page, from any depth.
        const resp = await page.goto(base + 'part2/no-such-chapter.html');
        result.notFound = {
            status: resp.status(),
            title: await page.title(),
            h1: await page.$eval('main h1', (h) => h.textContent.trim()).catch(() => null),
            styled: await page.evaluate(() => getComputedStyle(document.querySelector('#sidebar')).position),
            links: await page.$$eval('main a', (as) => as.map((a) => a.href)),
        };
        if (result.notFound.links.length) {
            const r = await page.goto(result.notFound.links[0]);
            result.notFound.firstLinkStatus = r.status();
        }
        // Callouts in dark themes: title and body text against what is under them. Output blocks:
        // their "Output" label and their text, and the "varies" marks that replace `[..]`.
        result.callouts = {};
        result.outputs = {};
        for (const theme of DARK.concat(['light', 'rust'])) {
            const c = await newContext({ theme });
            const p = await c.newPage();
            const rels = JSON.parse(process.env.OUTPUT_PAGES);
            result.callouts[theme] = [];
            result.outputs[theme] = [];
            for (const rel of rels) {
                await p.goto(base + rel);
                await p.waitForLoadState('load');
                const facts = await inPage(p, (kit) => {
                    const { parse, over, contrast, bgOf, ratio } = kit;
                    const callouts = Array.from(document.querySelectorAll('.admonition')).map((a) => {
                        const title = a.querySelector('.admonition-title, summary');
                        const body = Array.from(a.querySelectorAll('p, li')).find((p) => !title || !title.contains(p));
                        return {
                            kind: a.className,
                            title: title ? ratio(title) : null,
                            body: body ? ratio(body) : null,
                        };
                    });
                    const outputs = Array.from(document.querySelectorAll('pre > code.output')).map((code) => {
                        const pre = code.parentElement;
                        const label = getComputedStyle(pre, '::before');
                        const bg = bgOf(pre);
                        const fg = over(parse(label.color), bg);
                        return {
                            label: label.content,
                            labelRatio: Math.round(contrast(fg, bg) * 100) / 100,
                            text: ratio(code),
                            varies: code.querySelectorAll('.varies').length,
                            wildcardsLeft: code.textContent.split('[..]').length - 1,
                        };
                    });
                    return { callouts, outputs };
                });
                result.callouts[theme].push(...facts.callouts.map((f) => ({ page: rel, ...f })));
                result.outputs[theme].push(...facts.outputs.map((f) => ({ page: rel, ...f })));
            }
            await c.close();
        }
        await context.close();
        break;
    }
    case 'pairs': {
        // Paired programs: tabs in every theme, the reader's choice kept across pages, the arrow
        // keys, and both programs shown without JavaScript, when printed and in print.html.
        const pages = JSON.parse(process.env.PAIR_PAGES);
        const [first, last] = [pages[0], pages[pages.length - 1]];
        result.themes = {};
        for (const theme of THEMES) {
            const c = await newContext({ theme });
            const p = await c.newPage();
            await p.goto(base + first);
            await p.waitForLoadState('load');
            result.themes[theme] = {
                htmlClass: await p.evaluate(() => document.documentElement.className),
                pairs: await inPage(p, pairFacts),
            };
            if (shots && theme === 'navy') {
                fs.mkdirSync(shots, { recursive: true });
                await p.$eval('div.pair', (e) => e.scrollIntoView({ block: 'start' }));
                await p.evaluate(() => window.scrollBy(0, -60));
                await p.screenshot({ path: path.join(shots, 'pair-navy.png') });
            }
            await c.close();
        }
        const context = await newContext();
        const page = await context.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(base + first);
        await page.waitForLoadState('load');
        result.initial = await inPage(page, pairFacts);
        await page.click('div.pair [role="tab"][data-lang="rust"]');
        result.afterClick = await inPage(page, pairFacts);
        result.stored = await page.evaluate(() => { try { return localStorage.getItem('async-book-pair-language'); } catch (e) { return 'storage refused: ' + e; } });
        await page.goto(base + last);
        await page.waitForLoadState('load');
        result.otherPage = { page: last, pairs: await inPage(page, pairFacts) };
        // The arrow keys move between the tabs and do not turn the page.
        await page.focus('div.pair [role="tab"][aria-selected="true"]');
        await page.keyboard.press('ArrowLeft');
        await page.waitForTimeout(300);
        result.afterKey = {
            url: page.url().replace(base, ''),
            focused: await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('data-lang')),
            pairs: await inPage(page, pairFacts),
        };
        // Printed: both programs, whatever the tab.
        await page.emulateMedia({ media: 'print' });
        result.printMedia = await inPage(page, pairFacts);
        await page.emulateMedia({ media: 'screen' });
        result.errors = errors;
        await context.close();
        // Without JavaScript: both programs, each under its label.
        const noJs = await newContext({ javaScriptEnabled: false });
        const np = await noJs.newPage();
        await np.goto(base + first);
        result.noScript = await inPage(np, pairFacts);
        await noJs.close();
        // print.html (which opens the print dialog by itself: recorded, not printed).
        const pc = await newContext();
        await pc.addInitScript(() => { window.print = () => {}; });
        const pp = await pc.newPage();
        await pp.goto(base + 'print.html');
        await pp.waitForLoadState('load');
        result.printPage = await inPage(pp, pairFacts);
        await pc.close();
        break;
    }
    case 'offline': {
        // An unpacked offline copy, opened from disk.
        const context = await newContext();
        const page = await context.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(base + 'index.html');
        result.index = {
            title: await page.title(),
            diagrams: await waitDiagrams(page, null, 60000),
            svgs: await page.evaluate(() => document.querySelectorAll('figure.diagram svg').length),
        };
        // A page two levels down, reached through the sidebar's link.
        await page.goto(base + 'part2/06c-running-many-tasks.html');
        result.deep = {
            diagrams: await waitDiagrams(page, null, 60000),
            svgs: await page.evaluate(() => document.querySelectorAll('figure.diagram svg').length),
            total: await page.evaluate(() => document.querySelectorAll('figure.diagram').length),
            fontLoaded: await page.evaluate(async () => { await document.fonts.ready; return document.fonts.check('16px "Open Sans"'); }),
        };
        await page.keyboard.press('s');
        await page.waitForSelector('#searchbar', { state: 'visible' });
        await page.locator('#searchbar').pressSequentially('Waker', { delay: 20 });
        await page.waitForFunction(() => document.querySelectorAll('#searchresults li a').length > 0, null, { timeout: 15000 }).catch(() => {});
        result.search = await page.$$eval('#searchresults li a', (as) => as.map((a) => a.href)).catch(() => []);
        if (result.search.length) {
            await page.goto(result.search[0]);
            result.searchLanded = page.url();
            result.searchLandedTitle = await page.title();
        }
        result.errors = errors;
        await context.close();
        break;
    }
    case 'screenshots': {
        fs.mkdirSync(shots, { recursive: true });
        result.files = [];
        const pages = [
            ['introduction', 'introduction.html', '.admonition'],
            ['chapter-06c', 'part2/06c-running-many-tasks.html', 'pre.playground'],
            ['chapter-05', 'part1/05-the-event-loop.html', 'figure.diagram'],
        ];
        for (const theme of ['light', 'navy']) {
            const context = await newContext({ theme });
            const page = await context.newPage();
            for (const [name, rel, focus] of pages) {
                await page.goto(base + rel);
                await waitDiagrams(page, theme);
                await page.evaluate(() => document.fonts.ready);
                if (focus) {
                    await page.$eval(focus, (e) => e.scrollIntoView({ block: 'start' }));
                    await page.evaluate(() => window.scrollBy(0, -80));
                    // A code block as the reader sees it under the pointer: with its buttons.
                    if (focus === 'pre.playground') {
                        await page.hover(focus);
                        await page.waitForTimeout(300);
                    }
                }
                const file = path.join(shots, `${name}-${theme}.png`);
                await page.screenshot({ path: file });
                result.files.push(file);
            }
            // One diagram of each kind, as drawn: 06g holds a flowchart, a sequence diagram, a
            // gantt chart and a state diagram.
            await page.goto(base + 'part2/06g-production-patterns.html');
            await waitDiagrams(page, theme);
            for (const kind of ['flowchart', 'sequence', 'gantt', 'state']) {
                const figure = page.locator(`figure.diagram[data-diagram-kind="${kind}"]`).first();
                if (!(await figure.count())) continue;
                const file = path.join(shots, `diagram-${kind}-${theme}.png`);
                await figure.scrollIntoViewIfNeeded();
                await figure.screenshot({ path: file });
                result.files.push(file);
            }
            await context.close();
        }
        // And with JavaScript off: the diagrams are in the page.
        const context = await newContext({ javaScriptEnabled: false });
        const page = await context.newPage();
        await page.goto(base + 'part2/06g-production-patterns.html');
        const figure = page.locator('figure.diagram[data-diagram-kind="sequence"]').first();
        await figure.scrollIntoViewIfNeeded();
        const file = path.join(shots, 'diagram-sequence-no-javascript.png');
        await figure.screenshot({ path: file });
        result.files.push(file);
        await context.close();
        break;
    }
    case 'nojs': {
        // JavaScript disabled: every diagram of two pages that hold all four kinds is still an SVG
        // in the page, drawn at its size, with legible labels (the no-JS theme is light, or coal
        // for a reader who prefers dark).
        result.schemes = {};
        for (const colorScheme of ['light', 'dark']) {
            const context = await newContext({ javaScriptEnabled: false, colorScheme });
            const page = await context.newPage();
            result.schemes[colorScheme] = {};
            for (const rel of ['part2/06g-production-patterns.html', 'part1/01-before-programming.html']) {
                await page.goto(base + rel);
                result.schemes[colorScheme][rel] = {
                    scriptsRan: await page.evaluate(() => document.documentElement.classList.contains('js')),
                    state: await page.evaluate(diagramState),
                    diagrams: await inPage(page, diagramFacts),
                };
            }
            await context.close();
        }
        break;
    }
    default:
        throw new Error(`unknown scenario ${scenario}`);
    }
    result.external = external;
    result.playground = playground.map((r) => r.url);
    return result;
}

try {
    const result = await run();
    process.stdout.write('\n' + JSON.stringify(result) + '\n');
    await browser.close();
} catch (e) {
    await browser.close().catch(() => {});
    process.stdout.write('\n' + JSON.stringify({ error: String(e && e.stack || e), external }) + '\n');
    process.exit(1);
}
