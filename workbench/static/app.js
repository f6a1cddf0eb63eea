// Keyboard-first rating. The form works without this file; this only adds shortcuts.
// Digits pick the Nth option of the focused question (else the highlighted one),
// Backspace clears the last answer, Enter submits, "s" opens skip/report (then a digit
// picks the reason), "g" the guidelines, "d" the word diff, "?" the list of shortcuts,
// Escape closes panels. Shortcuts act only while focus is on the task itself or on one of
// its answer controls: on a link, a button, a summary or a text box, keys do what they
// normally do (Enter follows the link). Single-key shortcuts can be switched off in the
// shortcuts panel (WCAG 2.1.4); the choice is kept in this browser.
(function () {
  "use strict";

  function groups(form) {
    return Array.from(form.querySelectorAll("[data-group]")).filter(function (g) {
      return g.getAttribute("aria-disabled") !== "true";
    });
  }

  function answered(group) {
    return group.querySelector("input:checked") !== null;
  }

  function syncTies(form) {
    form.querySelectorAll("[data-unless-tie]").forEach(function (strength) {
      var choice = form.querySelector('input[name="' + strength.dataset.unlessTie + '"]:checked');
      var off = choice !== null && choice.value === "tie";
      strength.setAttribute("aria-disabled", off ? "true" : "false");
      strength.querySelectorAll("input").forEach(function (input) {
        input.disabled = off;
        if (off) { input.checked = false; }
      });
    });
  }

  function highlight(form) {
    syncTies(form);
    var all = groups(form);
    var active = all.find(function (g) { return !answered(g); }) || null;
    form.querySelectorAll("[data-group]").forEach(function (g) { g.classList.toggle("active", g === active); });
    return active;
  }

  function currentForm() {
    return document.querySelector("#task form.judgment");
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form.judgment");
    if (form) { highlight(form); }
  });

  function toggle(selector) {
    var details = document.querySelector(selector);
    if (details) {
      // A key can arrive before htmx has wired up a freshly swapped task; wire it first,
      // so a panel that loads on "toggle" (the word diff) always loads.
      if (window.htmx) { window.htmx.process(details); }
      details.open = !details.open;
    }
    return details;
  }

  function skipKey(event) {
    // While the skip panel is open, digits pick a reason and Escape closes it.
    var skip = document.querySelector("#task details.skip[open]");
    if (!skip) { return false; }
    if (event.key === "Escape") { skip.open = false; event.preventDefault(); return true; }
    if (/^[1-9]$/.test(event.key)) {
      var reason = skip.querySelectorAll("button.reason")[Number(event.key) - 1];
      if (reason) {
        event.preventDefault();
        if (window.htmx) { window.htmx.process(reason.form); }
        reason.click(); // a click, so htmx sends the button's reason with the form
      }
      return true;
    }
    return false;
  }

  var OFF_KEY = "workbench-shortcuts-off";

  function shortcutsOff() {
    try { return window.localStorage.getItem(OFF_KEY) === "1"; } catch (e) { return false; }
  }

  document.addEventListener("change", function (event) {
    if (event.target.id === "shortcuts-off") {
      try { window.localStorage.setItem(OFF_KEY, event.target.checked ? "1" : "0"); } catch (e) { /* private mode */ }
    }
  });

  // Where shortcuts may act: the page or task itself, or an answer control of the form.
  function onTask(target, form) {
    if (!target || target === document.body || target.id === "task") { return true; }
    if (!form || !form.contains(target)) { return false; }
    return target.matches("input[type=radio], input[type=checkbox]");
  }

  document.addEventListener("keydown", function (event) {
    var form = currentForm();
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var typing = event.target.matches && event.target.matches("textarea, input[type=text], input[type=email], input[type=password], input[type=number], select");
    if (typing) {
      if (event.key === "Escape") { event.target.blur(); }
      return;
    }
    var help = document.getElementById("shortcuts");
    if (event.key === "?") {
      if (help) { help.hidden = !help.hidden; event.preventDefault(); }
      return;
    }
    if (event.key === "Escape" && help && !help.hidden) { help.hidden = true; return; }
    if (!form) { return; }
    if (skipKey(event)) { return; }
    if (!onTask(event.target, form)) { return; }
    if (shortcutsOff() && event.key !== "Enter") { return; }
    if (event.key === "s") {
      var skip = toggle("#task details.skip");
      if (skip && skip.open) { skip.scrollIntoView({ block: "nearest" }); }
      event.preventDefault();
    } else if (event.key === "g") {
      toggle("#task details.guidelines");
    } else if (event.key === "d") {
      toggle("#task details.diff");
    } else if (/^[0-9]$/.test(event.key)) {
      var focused = event.target.closest && event.target.closest("[data-group]");
      var active = focused && form.contains(focused) ? focused : highlight(form);
      if (!active) { return; }
      var inputs = active.querySelectorAll("input");
      var index = event.key === "0" ? 9 : Number(event.key) - 1;
      if (inputs[index]) {
        inputs[index].checked = true;
        inputs[index].dispatchEvent(new Event("change", { bubbles: true }));
        event.preventDefault();
      }
    } else if (event.key === "Backspace") {
      var done = groups(form).filter(answered);
      var last = done[done.length - 1];
      if (last) {
        last.querySelectorAll("input").forEach(function (i) { i.checked = false; });
        highlight(form);
        event.preventDefault();
      }
    } else if (event.key === "Enter") {
      event.preventDefault();
      // A fast Enter can land before htmx has wired up a just-swapped form; process it
      // first (a no-op when already done) so the submit stays an htmx request.
      if (window.htmx) { window.htmx.process(form); }
      form.requestSubmit();
    }
  });

  function ready() {
    var off = document.getElementById("shortcuts-off");
    if (off) { off.checked = shortcutsOff(); }
    var form = currentForm();
    if (form) {
      highlight(form);
      var task = document.getElementById("task");
      if (task && !document.activeElement.matches("textarea")) { task.focus({ preventScroll: true }); }
    }
  }

  document.addEventListener("DOMContentLoaded", ready);
  document.addEventListener("htmx:afterSettle", ready);
})();
