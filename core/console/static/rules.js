/* The rule editor: the expression is checked as one types (debounced POST to /console/rules/check,
   the same check as POST /api/rules/check), showing OK and the fields it reads, or the error with
   its line, column and a caret under the offending character; the outcomes follow the stage. */
(function () {
  "use strict";
  var DELAY = 300;
  function text(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    node.textContent = content;
    return node;
  }
  function start() {
    var form = document.getElementById("rule-form");
    if (!form) { return; }
    var area = document.getElementById("f-expression");
    var stage = document.getElementById("f-stage");
    var outcome = document.getElementById("f-outcome");
    var code = document.getElementById("f-code");
    var panel = document.getElementById("check-result");
    var outcomes = window.nongxin.data("rule-outcomes") || {};
    var timer = null, sent = 0;

    function show(seq, answer) {
      if (seq !== sent) { return; }  /* an older answer arriving late */
      panel.textContent = "";
      var body = answer.body || {};
      if (answer.status === 200 && body.ok) {
        panel.appendChild(text("span", "ok", "表达式正确 OK"));
        var names = (body.fields || []).map(function (f) { return f.label + "（" + f.name + "）"; });
        if (names.length) { panel.appendChild(text("div", "muted", "读取字段：" + names.join("、"))); }
        return;
      }
      if (body.line) {
        panel.appendChild(text("span", "bad", "第 " + body.line + " 行，第 " + body.column + " 列：" + body.message));
        panel.appendChild(text("pre", "caret", body.text || ""));
      } else {
        panel.appendChild(text("span", "bad", body.message || "无法检查"));
      }
    }
    function check() {
      var expression = area.value;
      if (!expression.trim()) { panel.textContent = ""; return; }
      var seq = ++sent;
      window.nongxin.post(form.getAttribute("data-check-url"),
                          {stage: stage.value, expression: expression, code: code.value || "CHECK"})
        .then(function (answer) { show(seq, answer); })
        .catch(function () { if (seq === sent) { panel.textContent = "检查暂不可用，保存时仍会检查。"; } });
    }
    function later() {
      if (timer) { window.clearTimeout(timer); }
      timer = window.setTimeout(check, DELAY);
    }
    function fillOutcomes() {
      var keep = outcome.value;
      outcome.textContent = "";
      (outcomes[stage.value] || []).forEach(function (pair) {
        var option = text("option", "", pair[1]);
        option.value = pair[0];
        if (pair[0] === keep) { option.selected = true; }
        outcome.appendChild(option);
      });
    }
    area.addEventListener("input", later);
    stage.addEventListener("change", function () { fillOutcomes(); later(); });
    if (area.value.trim()) { check(); }
  }
  document.addEventListener("DOMContentLoaded", start);
})();
