/* Draws the transparency page's Sankey charts from the #sankey-data JSON with ECharts.
   Without JavaScript the same numbers are in the table under each chart. */
(function () {
  "use strict";
  var source = document.getElementById("sankey-data");
  if (!source || !window.echarts) { return; }
  var charts = JSON.parse(source.textContent);

  function formatter(chart) {
    var format;
    try {
      format = new Intl.NumberFormat(chart.locale || undefined, { style: "currency", currency: chart.currency });
    } catch (e) {
      format = new Intl.NumberFormat(undefined, { style: "currency", currency: chart.currency });
    }
    return function (minor) { return format.format(minor / Math.pow(10, chart.digits)); };
  }

  document.querySelectorAll("[data-sankey]").forEach(function (element) {
    var chart = charts[Number(element.getAttribute("data-sankey"))];
    if (!chart) { return; }
    var money = formatter(chart);
    var labels = {};
    chart.nodes.forEach(function (node) { labels[node.id] = node.label; });
    var height = Math.max(320, Math.min(900, chart.nodes.length * 36));
    element.style.height = height + "px";
    element.style.width = "100%";
    var instance = window.echarts.init(element, null, { renderer: "canvas" });
    instance.setOption({
      animation: false,
      tooltip: {
        trigger: "item",
        formatter: function (params) {
          if (params.dataType === "edge") {
            return labels[params.data.source] + " → " + labels[params.data.target] + ": " + money(params.data.value);
          }
          return labels[params.name] + ": " + money(params.value);
        }
      },
      series: [{
        type: "sankey",
        orient: "horizontal",
        left: 8,
        right: "20%",  /* room for the last column's labels */
        nodeAlign: "justify",
        emphasis: { focus: "adjacency" },
        lineStyle: { color: "gradient", opacity: 0.4 },
        label: { formatter: function (params) { return labels[params.name]; } },
        data: chart.nodes.map(function (node) { return { name: node.id }; }),
        links: chart.links.map(function (link) {
          return { source: link.source, target: link.target, value: link.value };
        })
      }]
    });
    window.addEventListener("resize", function () { instance.resize(); });
  });
})();
