/* The console's small progressive enhancement; every page works without it.
   - <form data-confirm="..."> asks before submitting.
   - nongxin.post(url, body) sends JSON with the page's CSRF token (for checks made as one types).
   - nongxin.data(id) reads a <script type="application/json" id=...> block (chart data). */
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf(), "Accept": "application/json"},
      body: JSON.stringify(body || {})
    }).then(function (r) { return r.json().then(function (j) { return {status: r.status, body: j}; }); });
  }
  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  window.nongxin = {post: post, data: data, csrf: csrf};
})();
