(function () {
  "use strict";
  var form = document.getElementById("screening-form");
  var panel = document.getElementById("decision");
  if (!form || !panel || !window.fetch) { return; }
  var timer = null;
  function line(tag, text, cls) {
    var node = document.createElement(tag);
    node.textContent = text;
    if (cls) { node.className = cls; }
    return node;
  }
  function show(result) {
    panel.replaceChildren(
      line("h2", "Decision as typed (not saved yet)"),
      line("p", result.summary, "verdict " + result.decision),
      line("p", "Protocol " + result.protocol.id + " version " + result.protocol.version, "rule")
    );
    var list = document.createElement("ul");
    list.id = "criteria";
    result.criteria.forEach(function (c) {
      var text = c.label + ": " + c.status.replace("_", " ") + " (" + c.found +
        "; required: " + c.required + ")";
      if (c.missing.length) { text += "; missing: " + c.missing_labels; }
      var item = line("li", text, c.status);
      item.dataset.key = c.key;
      list.appendChild(item);
    });
    panel.appendChild(list);
  }
  function judge() {
    fetch("/screenings/evaluate", {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin"
    }).then(function (answer) {
      return answer.ok ? answer.json() : null;
    }).then(function (result) {
      if (result) { show(result); }
    }).catch(function () { /* the decision is shown again on saving */ });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(judge, 200);
  });
})();
