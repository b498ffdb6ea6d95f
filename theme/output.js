// Output blocks (```text,output in the markdown) hold what the snippet above them prints, as the
// tests check it. Where a value changes from run to run (a duration on the real clock, a thread id),
// the block says `[..]`; on the page that becomes a "varies" mark. (The "Output" label itself is
// CSS: theme/book-extra.css.)
(function outputBlocks() {
    'use strict';

    var WILDCARD = '[..]';

    function markVarying(code) {
        var walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
        var nodes = [];
        while (walker.nextNode()) {
            if (walker.currentNode.nodeValue.indexOf(WILDCARD) !== -1) {
                nodes.push(walker.currentNode);
            }
        }
        nodes.forEach(function (node) {
            var fragment = document.createDocumentFragment();
            node.nodeValue.split(WILDCARD).forEach(function (part, i) {
                if (i > 0) {
                    var mark = document.createElement('span');
                    mark.className = 'varies';
                    mark.textContent = 'varies';
                    mark.title = 'This value changes from run to run; the tests accept any value here.';
                    fragment.appendChild(mark);
                }
                if (part) {
                    fragment.appendChild(document.createTextNode(part));
                }
            });
            node.parentNode.replaceChild(fragment, node);
        });
    }

    document.querySelectorAll('pre > code.output').forEach(markVarying);
})();
