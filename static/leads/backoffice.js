/* Leads staff pages: small conveniences on top of pages that work without them.
   Loaded with `defer` from this site only (CSP script-src 'self'); no inline code, no dependencies.
   In the inbox: a "select all" checkbox, shift-click to select a range, and keys j/k (next/previous
   lead), o or Enter (open it), x (select it). */
(function () {
  "use strict";

  var form = document.getElementById("bulk");
  var table = form && form.querySelector("table");
  if (!table) return;  // not the inbox, or no leads on this page

  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr")).filter(function (row) {
    return row.querySelector("input[type=checkbox][name=ids]");
  });
  if (!rows.length) return;
  // Words come from the page (data-text-*, translated by the template); English if a page has none.
  function text(name, fallback) { return form.dataset[name] || fallback; }
  var boxes = rows.map(function (row) { return row.querySelector("input[type=checkbox][name=ids]"); });

  // "Select all" goes where the column header is; it says how many are selected (mixed = indeterminate).
  var header = table.querySelector("thead th");
  var all = document.createElement("input");
  all.type = "checkbox";
  all.id = "select-all";
  var allLabel = document.createElement("label");
  allLabel.htmlFor = "select-all";
  allLabel.className = "select-all-label";
  allLabel.textContent = text("textSelectAll", "Select all");
  var allWrap = document.createElement("span");
  allWrap.className = "select-all-wrap";
  allWrap.appendChild(all);
  allWrap.appendChild(allLabel);
  header.textContent = "";
  header.classList.add("select-all");
  header.appendChild(allWrap);

  function syncAll() {
    var checked = boxes.filter(function (box) { return box.checked; }).length;
    all.checked = checked === boxes.length;
    all.indeterminate = checked > 0 && checked < boxes.length;
  }

  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
    syncAll();
  });

  // Shift-click: every box between the last one clicked and this one takes this one's new state.
  var lastClicked = null;
  boxes.forEach(function (box, index) {
    box.addEventListener("click", function (event) {
      if (event.shiftKey && lastClicked !== null && lastClicked !== index) {
        var from = Math.min(lastClicked, index), to = Math.max(lastClicked, index);
        for (var i = from; i <= to; i++) boxes[i].checked = box.checked;
      }
      lastClicked = index;
      syncAll();
    });
  });
  syncAll();  // the browser may have restored checked boxes (back button)

  // Keyboard: j/k move the current row (its first link takes focus), o/Enter open it, x toggles its box.
  var current = -1;

  function rowLink(row) { return row.querySelector("a[href]"); }

  function moveTo(index) {
    index = Math.max(0, Math.min(rows.length - 1, index));
    if (current >= 0) rows[current].classList.remove("current");
    current = index;
    rows[current].classList.add("current");
    var link = rowLink(rows[current]);
    if (link) link.focus();
  }

  function rowOf(element) {
    for (var i = 0; i < rows.length; i++) if (rows[i].contains(element)) return i;
    return -1;
  }

  function typing(element) {
    if (!element || element.isContentEditable) return true;
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    return tag === "INPUT" && !/^(checkbox|radio|button|submit|reset)$/i.test(element.type);
  }

  document.addEventListener("focusin", function (event) {
    var index = rowOf(event.target);
    if (index >= 0 && index !== current) {
      if (current >= 0) rows[current].classList.remove("current");
      current = index;
      rows[current].classList.add("current");
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.defaultPrevented || typing(event.target)) return;
    var focused = rowOf(document.activeElement);
    if (focused >= 0) current = focused;
    switch (event.key) {
      case "j":
        moveTo(current + 1);
        break;
      case "k":
        moveTo(current < 0 ? 0 : current - 1);
        break;
      case "Enter":
        // Only on a row's checkbox: on a link Enter already opens it, elsewhere it is not ours.
        if (focused < 0 || document.activeElement.tagName !== "INPUT") return;
        // falls through
      case "o":
        if (current < 0 || !rowLink(rows[current])) return;
        rowLink(rows[current]).click();
        break;
      case "x":
        if (current < 0) return;
        boxes[current].click();  // a click, so a range and "select all" follow as with the mouse
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  // The help: discreet, below the table, only where the keys work.
  var help = document.createElement("details");
  help.className = "shortcuts";
  var summary = document.createElement("summary");
  summary.textContent = text("textShortcuts", "Keyboard shortcuts");
  help.appendChild(summary);
  var list = document.createElement("p");
  [["j", text("textNext", "next lead")], ["k", text("textPrevious", "previous lead")],
   ["o", text("textOpen", "open it (or Enter)")], ["x", text("textSelect", "select it")],
   ["Shift", text("textRange", "+ click: select a range")]].forEach(function (pair, index) {
    var key = document.createElement("kbd");
    key.textContent = pair[0];
    if (index) list.appendChild(document.createTextNode(" · "));
    list.appendChild(key);
    list.appendChild(document.createTextNode(" " + pair[1]));
  });
  help.appendChild(list);
  var wrap = table.closest(".table-wrap") || table;
  wrap.parentNode.insertBefore(help, wrap.nextSibling);
})();
