// Keyboard-first rating. The form works without this file; this only adds shortcuts, keeps
// answers across a reload and puts the focus where the work is.
// Digits pick the Nth option of the focused question (else the highlighted one, the first
// unanswered), then the focus moves on to the next unanswered question; Backspace clears the
// last answer; Enter submits while one of the form's own answers has the focus; "s" opens
// skip/report (then a digit picks the reason), "g" the guidelines, "d" the word diff, "?" the
// list of shortcuts; Escape closes panels. Shortcuts act only while focus is on the page, the
// task or one of its answer controls: on a link, a button, a summary or a text box, keys do
// what they normally do (Enter follows the link). Single-key shortcuts can be switched off in
// the shortcuts panel (WCAG 2.1.4); the choice is kept in this browser. Answers given so far
// are kept in sessionStorage under the item's opaque ref until the item is submitted, so a
// reload does not lose them; the last submitted answers are kept for "Undo".
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

  // -- answers kept across a reload -------------------------------------------------------

  var ANSWERS = "workbench-answers:";
  var LAST_SUBMIT = "workbench-last-submit";

  function store(action) {
    try { return action(window.sessionStorage); } catch (e) { return null; } // private mode, quota
  }

  function snapshot(form) {
    var fields = [];
    form.querySelectorAll("[data-group] input:checked, textarea").forEach(function (input) {
      if (input.type !== "hidden" && (input.checked || input.value)) { fields.push([input.name, input.value]); }
    });
    return { lease: form.dataset.lease, fields: fields };
  }

  function save(form) {
    var saved = snapshot(form);
    store(function (s) { s.setItem(ANSWERS + form.dataset.item, JSON.stringify(saved)); });
  }

  function untouched(form) {
    return form.querySelector("[data-group] input:checked") === null &&
      Array.from(form.querySelectorAll("textarea")).every(function (t) { return t.value === ""; });
  }

  function apply(form, saved) {
    saved.fields.forEach(function (pair) {
      form.querySelectorAll("[name=\"" + CSS.escape(pair[0]) + "\"]").forEach(function (input) {
        if (input.tagName === "TEXTAREA") { input.value = pair[1]; }
        else if (input.value === pair[1]) { input.checked = true; }
      });
    });
  }

  function restore(form) {
    // Other items' answers are stale (submitted or skipped elsewhere): drop them.
    store(function (s) {
      for (var i = s.length - 1; i >= 0; i--) {
        var key = s.key(i);
        if (key && key.indexOf(ANSWERS) === 0 && key !== ANSWERS + form.dataset.item) { s.removeItem(key); }
      }
    });
    if (!untouched(form)) { return; } // the server sent answers back (a failed submit)
    var own = store(function (s) { return JSON.parse(s.getItem(ANSWERS + form.dataset.item) || "null"); });
    var last = store(function (s) { return JSON.parse(s.getItem(LAST_SUBMIT) || "null"); });
    if (own && own.lease === form.dataset.lease) {
      apply(form, own);
    } else if (last && last.item === form.dataset.item && last.lease === form.dataset.lease) {
      apply(form, last); // the submit was undone: the same task came back
      save(form);
    }
  }

  // A saved judgment: the form is about to be swapped out (still in the page, unlike on
  // htmx:afterRequest). A 422 keeps the answers where they are.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!form || !form.matches || !form.matches("form.judgment") || event.detail.xhr.status !== 200) { return; }
    var saved = snapshot(form);
    saved.item = form.dataset.item;
    store(function (s) {
      s.removeItem(ANSWERS + form.dataset.item);
      s.setItem(LAST_SUBMIT, JSON.stringify(saved));
    });
  });

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form.judgment");
    if (form) { highlight(form); save(form); }
  });

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form.judgment");
    if (form && event.target.tagName === "TEXTAREA") { save(form); }
  });

  // -- focus --------------------------------------------------------------------------------

  function firstInput(group) {
    return Array.from(group.querySelectorAll("input")).find(function (i) { return !i.disabled; }) || null;
  }

  // After a digit answered ``group``: on to the next unanswered question, else stay on the answer.
  function moveOn(form, chosen) {
    var next = highlight(form);
    var target = next ? firstInput(next) : chosen;
    if (target) { target.focus(); }
  }

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
      if (inputs[index] && !inputs[index].disabled) {
        inputs[index].checked = true;
        inputs[index].dispatchEvent(new Event("change", { bubbles: true }));
        moveOn(form, inputs[index]);
        event.preventDefault();
      }
    } else if (event.key === "Backspace") {
      var done = groups(form).filter(answered);
      var last = done[done.length - 1];
      if (last) {
        last.querySelectorAll("input").forEach(function (i) { i.checked = false; });
        highlight(form);
        save(form);
        var back = firstInput(last);
        if (back) { back.focus(); }
        event.preventDefault();
      }
    } else if (event.key === "Enter") {
      if (!form.contains(event.target)) { return; } // only from the form's own answers
      event.preventDefault();
      // A fast Enter can land before htmx has wired up a just-swapped form; process it
      // first (a no-op when already done) so the submit stays an htmx request.
      if (window.htmx) { window.htmx.process(form); }
      form.requestSubmit();
    }
  });

  function ready(event) {
    var off = document.getElementById("shortcuts-off");
    if (off) { off.checked = shortcutsOff(); }
    document.querySelectorAll("#flash form.undo[data-undo-seconds]").forEach(function (undo) {
      // The server refuses an undo after the window anyway; the button goes when it would.
      window.setTimeout(function () { undo.remove(); }, Number(undo.dataset.undoSeconds) * 1000);
      undo.removeAttribute("data-undo-seconds");
    });
    // Only a new page or a new task moves the focus (not the word diff arriving, say).
    if (event.type === "htmx:afterSettle" && !(event.target && event.target.id === "task")) { return; }
    var form = currentForm();
    if (form) {
      restore(form);
      highlight(form);
      // After a failed submit the focus goes to the first question to fix.
      var invalid = form.querySelector("fieldset.invalid");
      var fix = invalid && (invalid.querySelector("textarea") || firstInput(groups(invalid).find(function (g) {
        return !answered(g);
      }) || invalid));
      var task = document.getElementById("task");
      if (fix) { fix.focus(); }
      // Keys pressed between the swap and the settle have already put the focus on an
      // answer of the new form: leave it there, or the Enter that follows would miss.
      else if (task && !document.activeElement.matches("textarea") && !form.contains(document.activeElement)) {
        task.focus({ preventScroll: true });
      }
    }
  }

  // A destructive form asks first (an inline onsubmit would break the page's CSP). Captured
  // at the document, so a refusal stops htmx from sending it too.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  document.addEventListener("DOMContentLoaded", ready);
  document.addEventListener("htmx:afterSettle", ready);
})();
