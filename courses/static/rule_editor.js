// The rule-set editor's live preview: any change re-renders the form through its "预览" button (the server
// evaluates the edited rules against the sample profile and the province's demo trainees).
(function () {
  "use strict";
  var form = document.getElementById("rule-set-form");
  var preview = document.getElementById("rules-preview");
  if (!form || !preview) { return; }
  form.addEventListener("change", function (e) {
    if (e.target && e.target.name && e.target.name !== "basis_source" && e.target.name !== "name") {
      if (form.requestSubmit) { form.requestSubmit(preview); } else { preview.click(); }
    }
  });
}());
