// Diagrams: a small loader that fetches mermaid (2.6 MB, src/assets/mermaid.min.js) only on pages
// that hold a `pre.mermaid` block, renders every diagram with colours taken from the current mdBook
// theme (light, rust, coal, navy, ayu), and renders them again, without a reload, when the reader
// switches theme. Works from any page depth, from the 404 page (which has a <base>) and from file://,
// because mermaid's address is resolved against this script's own address.
//
// For the tests and for anyone curious, <html> carries:
//   data-diagrams="loading" | "rendered" | "error"     and     data-diagrams-theme="navy" (etc.)
(function mermaidLoader() {
    'use strict';

    var THEMES = ['light', 'rust', 'coal', 'navy', 'ayu'];
    var html = document.documentElement;
    var self = document.currentScript;
    var diagrams = Array.prototype.slice.call(document.querySelectorAll('pre.mermaid'));
    if (!diagrams.length) {
        return;
    }

    // Keep each diagram's source before mermaid replaces it with an SVG: re-rendering needs it.
    diagrams.forEach(function (pre) {
        pre.setAttribute('data-mermaid-source', pre.textContent);
    });
    html.setAttribute('data-diagrams', 'loading');

    function scriptUrl() {
        var base = self && self.src;
        if (!base) {
            // Only if the script was inlined: fall back on mdBook's path to the book's root.
            base = new URL((typeof path_to_root === 'string' ? path_to_root : '') + 'theme/mermaid-init.js',
                document.baseURI).href;
        }
        return new URL('../assets/mermaid.min.js', base).href;
    }

    // ---- colours --------------------------------------------------------------------------------

    var probe;
    function rgb(value) {
        if (!probe) {
            probe = document.createElement('span');
            probe.style.display = 'none';
            document.body.appendChild(probe);
        }
        probe.style.color = '';
        probe.style.color = value;
        var m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)/.exec(getComputedStyle(probe).color);
        return m ? [+m[1], +m[2], +m[3]] : [0, 0, 0];
    }
    function hex(c) {
        return '#' + c.map(function (x) {
            return ('0' + Math.round(Math.max(0, Math.min(255, x))).toString(16)).slice(-2);
        }).join('');
    }
    function mix(a, b, t) {
        return [0, 1, 2].map(function (i) { return a[i] * (1 - t) + b[i] * t; });
    }
    function luminance(c) {
        var l = c.map(function (x) {
            x /= 255;
            return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
        });
        return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
    }

    function currentTheme() {
        for (var i = 0; i < THEMES.length; i++) {
            if (html.classList.contains(THEMES[i])) {
                return THEMES[i];
            }
        }
        return 'light';
    }

    // Mermaid's "base" theme, fed with the page's own colours: text in the page's foreground, boxes
    // in the colour of quotes, the canvas in the page's background.
    function themeVariables() {
        var css = getComputedStyle(html);
        var v = function (name, fallback) {
            return rgb(css.getPropertyValue(name).trim() || fallback);
        };
        var bg = v('--bg', '#ffffff');
        var dark = luminance(bg) < 0.2;
        // Text a little brighter than the dark themes' body text (coal's is grey): small labels on
        // tinted boxes stay above a 4.5:1 contrast.
        var fg = dark ? mix(v('--fg', '#c5c5c5'), [255, 255, 255], 0.2) : v('--fg', '#000000');
        var box = v('--quote-bg', dark ? '#2a2d3a' : '#f1f6f8');
        var border = mix(box, fg, 0.45);
        var links = v('--links', '#20609f');
        var accent = mix(box, links, dark ? 0.25 : 0.2);
        var soft = mix(bg, box, 0.5);
        var crit = mix(box, [220, 50, 47], dark ? 0.3 : 0.25);
        var line = mix(bg, fg, 0.85);
        var B = hex(bg), F = hex(fg), X = hex(box), R = hex(border), A = hex(accent), S = hex(soft);
        return {
            darkMode: dark,
            background: B,
            fontFamily: getComputedStyle(document.body).fontFamily,
            fontSize: '15px',
            primaryColor: X, primaryTextColor: F, primaryBorderColor: R,
            secondaryColor: A, secondaryTextColor: F, secondaryBorderColor: R,
            tertiaryColor: S, tertiaryTextColor: F, tertiaryBorderColor: R,
            lineColor: hex(line), textColor: F, titleColor: F,
            mainBkg: X, nodeBorder: R, nodeTextColor: F,
            clusterBkg: S, clusterBorder: R, edgeLabelBackground: B,
            noteBkgColor: A, noteTextColor: F, noteBorderColor: R,
            // sequence diagrams
            actorBkg: X, actorBorder: R, actorTextColor: F, actorLineColor: hex(line),
            signalColor: F, signalTextColor: F, labelBoxBkgColor: X, labelBoxBorderColor: R,
            labelTextColor: F, loopTextColor: F, activationBkgColor: A, activationBorderColor: R,
            sequenceNumberColor: B,
            // gantt charts
            sectionBkgColor: S, altSectionBkgColor: B, sectionBkgColor2: S,
            taskBkgColor: X, taskBorderColor: R, taskTextColor: F, taskTextLightColor: F,
            taskTextDarkColor: F, taskTextOutsideColor: F, taskTextClickableColor: hex(links),
            activeTaskBkgColor: A, activeTaskBorderColor: R, doneTaskBkgColor: S,
            doneTaskBorderColor: R, critBkgColor: hex(crit), critBorderColor: R,
            gridColor: hex(mix(bg, fg, 0.3)), todayLineColor: hex(links), excludeBkgColor: S,
            // state diagrams
            labelColor: F, altBackground: S, compositeBackground: S, compositeTitleBackground: X,
            stateLabelColor: F, stateBkg: X, specialStateColor: F, innerEndBackground: F,
            transitionColor: hex(line), transitionLabelColor: F,
        };
    }

    // ---- rendering ------------------------------------------------------------------------------

    var rendered = null;
    var queue = Promise.resolve();

    function render() {
        var theme = currentTheme();
        if (theme === rendered) {
            return Promise.resolve();
        }
        html.setAttribute('data-diagrams', 'loading');
        window.mermaid.initialize({
            startOnLoad: false,
            securityLevel: 'strict',
            theme: 'base',
            themeVariables: themeVariables(),
        });
        diagrams.forEach(function (pre) {
            pre.removeAttribute('data-processed');
            pre.textContent = pre.getAttribute('data-mermaid-source');
        });
        return window.mermaid.run({ nodes: diagrams, suppressErrors: true }).then(function () {
            rendered = theme;
            diagrams.forEach(keepLegible);
            var failed = diagrams.filter(function (pre) { return !pre.querySelector('svg'); });
            html.setAttribute('data-diagrams', failed.length ? 'error' : 'rendered');
            html.setAttribute('data-diagrams-theme', theme);
        });
    }

    // A wide diagram is scaled down to the page's width; below 80% of its size its labels get too
    // small to read, so it keeps 80% and the block scrolls sideways instead.
    function keepLegible(pre) {
        var svg = pre.querySelector('svg');
        var box = svg && svg.viewBox && svg.viewBox.baseVal;
        if (!box || !box.width) {
            return;
        }
        svg.style.minWidth = Math.round(Math.min(box.width * 0.8, 2000)) + 'px';
    }

    // print.html calls window.print() as soon as the page has loaded, before mermaid has drawn
    // anything: hold that call until the diagrams are drawn, so they are on paper.
    var nativePrint = window.print;
    var printWanted = false;
    window.print = function () {
        var state = html.getAttribute('data-diagrams');
        if (state === 'rendered' || state === 'error') {
            return nativePrint.apply(window, arguments);
        }
        printWanted = true;
    };
    function printIfWanted() {
        if (printWanted) {
            printWanted = false;
            window.print = nativePrint;
            setTimeout(function () { nativePrint.call(window); }, 100);
        }
    }

    function schedule() {
        queue = queue.then(render, render).catch(function (e) {
            html.setAttribute('data-diagrams', 'error');
            if (window.console) {
                console.error('diagrams:', e);
            }
        }).then(printIfWanted);
        return queue;
    }

    function start() {
        // Labels are measured when drawn: wait for the fonts, or boxes would not fit their text.
        var fontsReady = document.fonts && document.fonts.ready ? document.fonts.ready : Promise.resolve();
        fontsReady.then(schedule, schedule);
        // mdBook's theme picker changes <html>'s class: draw the diagrams again in the new colours.
        new MutationObserver(function () {
            if (currentTheme() !== rendered) {
                schedule();
            }
        }).observe(html, { attributes: true, attributeFilter: ['class'] });
    }

    var script = document.createElement('script');
    script.src = scriptUrl();
    script.async = true;
    script.onload = start;
    script.onerror = function () {
        html.setAttribute('data-diagrams', 'error');
        printIfWanted();
    };
    document.head.appendChild(script);
})();
