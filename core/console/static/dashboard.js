/* The dashboard's charts: each <div data-chart="ID"> is drawn by ECharts (vendored, static/vendor)
   from the JSON block <script type="application/json" id="ID">:
   {"kind": "bar"|"line", "categories": [...], "stack": bool, "unit": "%"|"",
    "series": [{"name": ..., "data": [numbers or decimal strings], "color": "#hex"|null}]}.
   The table under each chart holds the same figures, so the page reads without JavaScript. */
(function () {
  "use strict";
  function option(spec) {
    var many = spec.series.length > 1;
    return {
      animation: false,
      grid: {left: 48, right: 16, top: many ? 36 : 16, bottom: 56, containLabel: true},
      tooltip: {trigger: "axis"},
      legend: many ? {top: 0} : undefined,
      xAxis: {type: "category", data: spec.categories, axisLabel: {interval: spec.kind === "line" ? "auto" : 0,
              rotate: spec.categories.length > 6 && spec.kind !== "line" ? 30 : 0}},
      yAxis: spec.unit ? {type: "value", axisLabel: {formatter: "{value}" + spec.unit}} : {type: "value", minInterval: 1},
      series: spec.series.map(function (s) {
        return {name: s.name, type: spec.kind, stack: spec.stack ? "total" : undefined, smooth: false,
                itemStyle: s.color ? {color: s.color} : undefined, lineStyle: s.color ? {color: s.color} : undefined,
                data: s.data.map(Number), barMaxWidth: 48};
      })
    };
  }
  function draw() {
    if (!window.echarts) { return; }
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (node) {
      var spec = window.nongxin.data(node.getAttribute("data-chart"));
      if (!spec) { return; }
      var chart = window.echarts.init(node, null, {renderer: "canvas"});
      chart.setOption(option(spec));
      node.setAttribute("data-drawn", "yes");
      charts.push(chart);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
