// Beside each runnable Rust snippet, a link that opens the complete program (hidden lines
// included) in the Rust Playground; under each snippet taken from a program in examples/, the
// command that runs the whole program.
(function playgroundLinks() {
    'use strict';

    var PLAYGROUND = 'https://play.rust-lang.org/';

    // The program exactly as the tests compile it: mdBook keeps hidden lines in the page (as
    // `.boring` spans), so textContent holds them; an edited block's text comes from its editor.
    function programText(pre) {
        if (typeof playground_text === 'function') {
            return playground_text(pre, true);
        }
        return pre.querySelector('code').textContent;
    }

    function editionOf(code) {
        var edition = '2024';
        code.classList.forEach(function (name) {
            var m = /^edition(\d{4})$/.exec(name);
            if (m) {
                edition = m[1];
            }
        });
        return edition;
    }

    // The program as a query value, as short as the Playground still reads it: it parses the query
    // with `qs`, which decodes `+` as a space, and `: / , ; @ $ ?` may stand unescaped in a query.
    // Every other character is escaped as encodeURIComponent escapes it. (Links over about 8 KB are
    // refused by the Playground's servers; tests/book.rs keeps every link under 7,000 bytes and
    // computes them the same way.)
    function encodeCode(text) {
        return encodeURIComponent(text)
            .replace(/%20/g, '+')
            .replace(/%(3A|2F|2C|3B|40|24|3F)/g, function (_, hex) {
                return String.fromCharCode(parseInt(hex, 16));
            });
    }

    function playgroundUrl(pre) {
        var code = pre.querySelector('code');
        return PLAYGROUND + '?version=stable&mode=debug&edition=' + editionOf(code) +
            '&code=' + encodeCode(programText(pre));
    }

    // theme/reader.js refreshes the link when a snippet is edited or reset.
    window.asyncBookPlaygroundUrl = playgroundUrl;

    function addPlaygroundLink(pre) {
        var code = pre.querySelector('code');
        if (!code || code.classList.contains('compile_fail') || code.classList.contains('ignore')) {
            return;
        }
        var buttons = pre.querySelector('.buttons');
        if (!buttons) {
            buttons = document.createElement('div');
            buttons.className = 'buttons';
            pre.insertBefore(buttons, pre.firstChild);
        }
        var link = document.createElement('a');
        link.className = 'fa fa-external-link playground-link';
        link.title = 'Open in the Rust Playground';
        link.setAttribute('aria-label', link.title);
        link.target = '_blank';
        link.rel = 'noopener';
        link.href = playgroundUrl(pre);
        // An editable snippet may have changed since the page loaded: refresh on use.
        ['mouseenter', 'focus', 'mousedown', 'keydown'].forEach(function (event) {
            link.addEventListener(event, function () {
                link.href = playgroundUrl(pre);
            });
        });
        var play = buttons.querySelector('.play-button');
        buttons.insertBefore(link, play ? play.nextSibling : null);
    }

    // A block shown from a program in examples/ starts with a `// examples/NAME.rs` line
    // (or `// examples/NAME/main.rs`): it cannot run on its own, the whole program can.
    function addExampleCommand(pre) {
        var code = pre.querySelector('code');
        if (!code || !code.classList.contains('language-rust')) {
            return;
        }
        var first = code.textContent.split('\n', 1)[0].trim();
        var m = /^\/\/\s*examples\/([A-Za-z0-9_-]+)(?:\.rs|\/main\.rs)\b/.exec(first);
        if (!m) {
            return;
        }
        var note = document.createElement('p');
        note.className = 'example-command';
        note.appendChild(document.createTextNode('Run the whole program: '));
        var cmd = document.createElement('code');
        cmd.textContent = 'cargo run --example ' + m[1];
        note.appendChild(cmd);
        pre.parentNode.insertBefore(note, pre.nextSibling);
    }

    function init() {
        Array.prototype.forEach.call(document.querySelectorAll('pre.playground'), addPlaygroundLink);
        Array.prototype.forEach.call(document.querySelectorAll('pre'), function (pre) {
            if (!pre.classList.contains('playground')) {
                addExampleCommand(pre);
            }
        });
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', init);
    } else {
        init();
    }
})();
