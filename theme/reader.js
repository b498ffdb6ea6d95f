// Reading and trying the code:
//  - the copy button copies the complete program, hidden lines included (mdBook copies innerText,
//    which drops the hidden `# ` lines, so the copied program would not compile);
//  - every runnable snippet can be edited in place (the pencil button). An edit is kept in the
//    browser (localStorage) and survives a reload; an edited snippet shows a reset button that
//    brings back the book's version. Run, Copy and "Open in the Rust Playground" use the edited
//    program. No editor library is loaded: the block becomes a plain-text editable area;
//  - the checkboxes of a self-assessment checklist can be ticked, and the ticks are remembered.
(function reader() {
    'use strict';

    // ---- copy the complete program ---------------------------------------------------------------
    // book.js's clipboard handler calls the global playground_text(pre, false); make it always take
    // the hidden lines too. textContent keeps them (mdBook renders them as hidden `.boring` spans).
    if (typeof window.playground_text === 'function' && !window.playground_text.keepsHiddenLines) {
        var mdbookPlaygroundText = window.playground_text;
        var complete = function (pre) {
            return mdbookPlaygroundText(pre, true);
        };
        complete.keepsHiddenLines = true;
        window.playground_text = complete;
    }

    // ---- edits kept -----------------------------------------------------------------------------
    var PREFIX = 'async-rust-book:snippet:';

    function storage() {
        try {
            return window.localStorage;
        } catch (e) {
            return null;
        }
    }

    // The page's path inside the book (e.g. "part2/06c-running-many-tasks.html"), whatever the host.
    function pageId() {
        try {
            var root = new URL(typeof path_to_root === 'string' ? path_to_root : '', location.href);
            var here = location.pathname;
            return here.indexOf(root.pathname) === 0 ? here.slice(root.pathname.length) : here;
        } catch (e) {
            return location.pathname;
        }
    }

    // A snippet's key names its page and the book's version of the program: when the book changes
    // the program, an old edit of it no longer applies.
    function hash(text) {
        var h = 5381;
        for (var i = 0; i < text.length; i++) {
            h = ((h * 33) ^ text.charCodeAt(i)) >>> 0;
        }
        return h.toString(36);
    }

    function button(className, label) {
        var b = document.createElement('button');
        b.type = 'button';
        b.className = className;
        b.title = label;
        b.setAttribute('aria-label', label);
        return b;
    }

    function setUp(pre) {
        var code = pre.querySelector('code');
        if (!code) {
            return;
        }
        var buttons = pre.querySelector('.buttons');
        if (!buttons) {
            buttons = document.createElement('div');
            buttons.className = 'buttons';
            pre.insertBefore(buttons, pre.firstChild);
        }
        var originalHtml = code.innerHTML;
        var originalText = code.textContent;
        var originalClass = code.className;
        var key = PREFIX + pageId() + ':' + hash(originalText);

        var edit = button('fa fa-pencil edit-button', 'Edit this program');
        var reset = button('fa fa-history reset-button', 'Reset to the book\'s version');
        reset.hidden = true;
        buttons.insertBefore(reset, buttons.firstChild);
        buttons.insertBefore(edit, buttons.firstChild);

        var status = document.createElement('span');
        status.className = 'edit-status';
        status.setAttribute('role', 'status');
        pre.appendChild(status);

        function refreshLink() {
            var link = pre.querySelector('.playground-link');
            if (link && typeof window.asyncBookPlaygroundUrl === 'function') {
                link.href = window.asyncBookPlaygroundUrl(pre);
            }
        }

        function editable(text) {
            if (code.getAttribute('contenteditable')) {
                return;
            }
            code.textContent = text;
            code.classList.remove('hide-boring');
            code.setAttribute('contenteditable', 'plaintext-only');
            if (code.contentEditable !== 'plaintext-only') {
                code.setAttribute('contenteditable', 'true');
            }
            code.setAttribute('spellcheck', 'false');
            code.setAttribute('role', 'textbox');
            code.setAttribute('aria-multiline', 'true');
            code.setAttribute('aria-label', 'Rust program (editable)');
            pre.classList.add('editing');
        }

        function markEdited(edited) {
            pre.classList.toggle('edited', edited);
            reset.hidden = !edited;
            status.textContent = edited ? 'Edited: kept in this browser' : '';
        }

        edit.addEventListener('click', function () {
            editable(code.textContent);
            code.focus();
        });

        reset.addEventListener('click', function () {
            var s = storage();
            if (s) {
                s.removeItem(key);
            }
            code.removeAttribute('contenteditable');
            code.removeAttribute('spellcheck');
            code.removeAttribute('role');
            code.removeAttribute('aria-multiline');
            code.removeAttribute('aria-label');
            code.className = originalClass;
            code.innerHTML = originalHtml;
            pre.classList.remove('editing');
            var result = pre.querySelector('.result');
            if (result) {
                result.remove();
            }
            markEdited(false);
            refreshLink();
            edit.focus();
        });

        code.addEventListener('input', function () {
            var text = code.textContent;
            var s = storage();
            if (s) {
                try {
                    if (text === originalText) {
                        s.removeItem(key);
                    } else {
                        s.setItem(key, text);
                    }
                } catch (e) {
                    // Storage full or disabled: the edit still works for this visit.
                }
            }
            markEdited(text !== originalText);
            refreshLink();
        });

        // While typing, keys belong to the program: not to the book's shortcuts (arrows turn the
        // page, `s` opens search). Ctrl+Enter runs the program, as in mdBook's own editor.
        code.addEventListener('keydown', function (e) {
            if (!code.getAttribute('contenteditable')) {
                return;
            }
            e.stopPropagation();
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                e.preventDefault();
                var play = pre.querySelector('.play-button');
                if (play && !play.classList.contains('hidden')) {
                    play.click();
                }
            } else if (e.key === 'Escape') {
                code.blur();
                edit.focus();
            }
        });

        var s = storage();
        var saved = s && s.getItem(key);
        if (saved !== null && saved !== undefined && saved !== originalText) {
            editable(saved);
            markEdited(true);
            refreshLink();
        }
    }

    // ---- self-assessment checklists ------------------------------------------------------------
    // A markdown task list (`- [ ] ...`) renders as disabled checkboxes. Make them tickable, name
    // each one after its item for screen readers, and remember the ticks in this browser.
    function setUpChecklists() {
        var s = storage();
        var boxes = document.querySelectorAll('.content li > input[type="checkbox"][disabled]');
        Array.prototype.forEach.call(boxes, function (box, index) {
            var item = box.parentNode;
            var key = PREFIX.replace('snippet', 'checklist') + pageId() + '#' + index;
            box.disabled = false;
            box.setAttribute('aria-label', item.textContent.trim());
            box.checked = !!(s && s.getItem(key) === '1');
            box.addEventListener('change', function () {
                if (!s) {
                    return;
                }
                if (box.checked) {
                    s.setItem(key, '1');
                } else {
                    s.removeItem(key);
                }
            });
        });
    }

    function init() {
        Array.prototype.forEach.call(document.querySelectorAll('pre.playground'), setUp);
        setUpChecklists();
        // mdBook's search field has only a placeholder: give it a name screen readers announce.
        var searchbar = document.getElementById('searchbar');
        if (searchbar && !searchbar.getAttribute('aria-label')) {
            searchbar.setAttribute('aria-label', 'Search this book');
        }
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', init);
    } else {
        init();
    }
})();
