// A form with data-confirm="question" asks before it is sent (archive a project, remove a
// member). The Content-Security-Policy allows no inline handlers, so the question is asked
// here; without JavaScript the form is sent as it is.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
