// Paired programs: an asyncio program and its tokio counterpart, each with its output block, in a
// `<div class="pair">` (see CONTRIBUTING.md, "Python beside Rust"). This script turns each pair into
// two tabs, "Python (asyncio)" and "Rust (tokio)", and remembers the reader's choice in
// localStorage, so every pair on every page opens on the language picked last.
//
// Without JavaScript, and on the print page, nothing is hidden: both programs are shown one under
// the other, each under its label (CSS in theme/book-extra.css).
(function pairedPrograms() {
    'use strict';

    var KEY = 'async-book-pair-language';
    var LANGUAGES = [
        { id: 'python', label: 'Python (asyncio)' },
        { id: 'rust', label: 'Rust (tokio)' },
    ];

    // print.html shows every side (it is printed as soon as it loads).
    if (/(^|\/)print\.html$/.test(window.location.pathname)) {
        return;
    }

    function stored() {
        try {
            var v = window.localStorage.getItem(KEY);
            return v === 'rust' || v === 'python' ? v : null;
        } catch (e) {
            return null;
        }
    }

    function store(lang) {
        try {
            window.localStorage.setItem(KEY, lang);
        } catch (e) {
            // Storage refused (a private window, a file:// page in some browsers): the choice
            // still holds on this page.
        }
    }

    var pairs = Array.prototype.slice.call(document.querySelectorAll('div.pair'));
    var counter = 0;

    function select(pair, lang, focus) {
        pair.querySelectorAll('[role="tab"]').forEach(function (tab) {
            var on = tab.getAttribute('data-lang') === lang;
            tab.setAttribute('aria-selected', on ? 'true' : 'false');
            tab.tabIndex = on ? 0 : -1;
            if (on && focus) {
                tab.focus();
            }
        });
        pair.querySelectorAll('[role="tabpanel"]').forEach(function (panel) {
            panel.hidden = panel.getAttribute('data-lang') !== lang;
        });
        pair.setAttribute('data-selected', lang);
    }

    function selectEverywhere(lang, source, focus) {
        pairs.forEach(function (pair) {
            select(pair, lang, focus && pair === source);
        });
    }

    function build(pair) {
        var children = Array.prototype.slice.call(pair.children);
        var rustAt = children.findIndex(function (el) {
            return el.matches('pre') && !!el.querySelector('code.language-rust');
        });
        if (rustAt <= 0) {
            return false; // not the markup tests/book.rs checks: leave it as it is
        }
        var groups = { python: children.slice(0, rustAt), rust: children.slice(rustAt) };
        var n = ++counter;
        var tablist = document.createElement('div');
        tablist.className = 'pair-tabs';
        tablist.setAttribute('role', 'tablist');
        tablist.setAttribute('aria-label', 'The program in Python or in Rust');
        LANGUAGES.forEach(function (l) {
            var tab = document.createElement('button');
            tab.type = 'button';
            tab.className = 'pair-tab';
            tab.id = 'pair-' + n + '-tab-' + l.id;
            tab.setAttribute('role', 'tab');
            tab.setAttribute('data-lang', l.id);
            tab.setAttribute('aria-controls', 'pair-' + n + '-' + l.id);
            tab.textContent = l.label;
            tab.addEventListener('click', function () {
                store(l.id);
                selectEverywhere(l.id, pair, false);
            });
            tablist.appendChild(tab);
        });
        // Arrow keys move between the two tabs (and must not also turn the page, which mdBook
        // does on a document-level keydown).
        tablist.addEventListener('keydown', function (e) {
            var keys = ['ArrowLeft', 'ArrowRight', 'Home', 'End'];
            if (keys.indexOf(e.key) === -1) {
                return;
            }
            e.preventDefault();
            e.stopPropagation();
            var current = pair.getAttribute('data-selected');
            var next = e.key === 'Home' ? 'python' : e.key === 'End' ? 'rust' : current === 'python' ? 'rust' : 'python';
            store(next);
            selectEverywhere(next, pair, true);
        });
        pair.insertBefore(tablist, pair.firstChild);
        LANGUAGES.forEach(function (l) {
            var panel = document.createElement('div');
            panel.className = 'pair-panel';
            panel.id = 'pair-' + n + '-' + l.id;
            panel.setAttribute('role', 'tabpanel');
            panel.setAttribute('data-lang', l.id);
            panel.setAttribute('data-label', l.label);
            panel.setAttribute('aria-labelledby', 'pair-' + n + '-tab-' + l.id);
            groups[l.id].forEach(function (el) {
                panel.appendChild(el);
            });
            pair.appendChild(panel);
        });
        pair.classList.add('pair-tabbed');
        return true;
    }

    pairs = pairs.filter(build);
    if (!pairs.length) {
        return;
    }
    selectEverywhere(stored() || 'python', null, false);

    // A choice made in another window of the book follows here too.
    window.addEventListener('storage', function (e) {
        if (e.key === KEY && (e.newValue === 'python' || e.newValue === 'rust')) {
            selectEverywhere(e.newValue, null, false);
        }
    });
})();
