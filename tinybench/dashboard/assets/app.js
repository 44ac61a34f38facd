/* tinybench dashboard: draws window.TINYBENCH_DATA (written by `tinybench dashboard` into
   data.js) as plain SVG and HTML. No libraries and nothing fetched, so it works from file://. */
"use strict";

(function () {
  const DATA = window.TINYBENCH_DATA;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const FILTERS = ["task", "backend", "board", "simulator", "weights"];  // the key's parts
  const TREND = Object.keys(DATA.metrics);
  const LABELS = {cycles: "cycles", flash_bytes: "Flash", ram_bytes: "RAM"};
  const COLOURS = ["#1f6fb4", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#0b7285", "#795548"];
  const form = document.getElementById("filters");

  function make(ns, tag, attrs, children) {
    const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(name, value);
    }
    node.append(...[].concat(children === undefined ? [] : children));
    return node;
  }
  const h = (tag, attrs, children) => make(null, tag, attrs, children);
  const s = (tag, attrs, children) => make(SVG_NS, tag, attrs, children);

  function format(metric, value) {
    if (value === null || value === undefined) return "—";
    if (metric === "cycles") return (value / 1e6).toFixed(2) + " M";
    if (metric === "latency_ms") return value.toFixed(value < 10 ? 2 : 1) + " ms";
    return (value / 1024).toFixed(1) + " KiB";
  }

  function change(from, to) {
    if (!from) return "";
    const percent = 100 * (to - from) / from;
    return (percent >= 0 ? "+" : "") + percent.toFixed(1) + " %";
  }

  const sha = (commit) => DATA.commits[commit][0];
  const date = (commit) => DATA.commits[commit][1].slice(0, 10);
  const name = (series) => series.label.split("/").join(" · ");
  const seriesId = (series) => series.key.join("/");

  /* `node` inside a link to its commit, when the repository's address is known. */
  function linked(commit, node, ns) {
    const id = sha(commit);
    if (!DATA.repo_url || !/^[0-9a-f]+$/.test(id)) return node;
    return make(ns, "a", {href: DATA.repo_url + "/commit/" + id, class: "commit-link"}, node);
  }

  /* The last measured value of `values` before position k, or null. */
  function previous(values, k) {
    for (let j = k - 1; j >= 0; j--) if (values[j] !== null) return values[j];
    return null;
  }

  function chosen() {
    return FILTERS.map((filter) => form.elements[filter].value);
  }

  function visible() {
    const want = chosen();
    return DATA.series.filter((series) => want.every((v, i) => !v || series.key[i] === v));
  }

  /* ---- trends -------------------------------------------------------------------------- */

  const T = {width: 380, left: 64, right: 12, top: 16, plot: 50};

  function xOf(commit) {
    const n = DATA.commits.length;
    return T.left + (n > 1 ? commit / (n - 1) : 0.5) * (T.width - T.left - T.right);
  }

  /* One metric of one series over every commit; the commits are named under the last one. */
  function trendChart(series, metric, nameCommits) {
    const values = series.values[metric];
    const bottom = T.top + T.plot;
    const height = bottom + (nameCommits ? 16 : 6);
    const chart = s("svg", {
      class: "trend", viewBox: `0 0 ${T.width} ${height}`, role: "img",
      "data-series": seriesId(series), "data-metric": metric,
      "aria-label": `${LABELS[metric]} of ${name(series)} over commits`,
    });
    chart.append(s("text", {class: "metric", x: T.left, y: 10}, LABELS[metric]));
    const measured = values.filter((v) => v !== null);
    if (!measured.length) {
      chart.append(s("text", {class: "empty", x: T.width / 2, y: bottom - T.plot / 2},
        "not measured"));
      return chart;
    }
    let low = Math.min(...measured);
    let high = Math.max(...measured);
    if (high === low) {
      const margin = Math.max(Math.abs(high) * 0.01, 1);
      low -= margin;
      high += margin;
    }
    const y = (v) => T.top + (high - v) / (high - low) * (bottom - T.top);
    chart.append(
      s("line", {class: "axis", x1: T.left, x2: T.width - T.right, y1: bottom, y2: bottom}),
      s("text", {class: "tick end", x: T.left - 4, y: T.top + 4}, format(metric, high)),
      s("text", {class: "tick end", x: T.left - 4, y: bottom}, format(metric, low)));
    if (nameCommits) {
      chart.append(
        s("text", {class: "tick", x: T.left, y: height - 2}, `${sha(0)} ${date(0)}`),
        s("text", {class: "tick end", x: T.width - T.right, y: height - 2},
          `${sha(DATA.commits.length - 1)} ${date(DATA.commits.length - 1)}`));
    }
    for (const commit of series.config_changes) {
      const k = series.at.indexOf(commit);
      const x = (xOf(series.at[k - 1]) + xOf(commit)) / 2;
      chart.append(s("line", {class: "config-change", x1: x, x2: x, y1: T.top, y2: bottom},
        s("title", {}, `configuration changed at ${sha(commit)}: not comparable`)));
    }
    let path = "";
    let pen = "M";
    series.at.forEach((commit, k) => {
      if (values[k] === null) {
        pen = "M";
        return;
      }
      path += `${pen}${xOf(commit).toFixed(1)},${y(values[k]).toFixed(1)}`;
      pen = "L";
    });
    chart.append(s("path", {class: "line", d: path}));
    const marked = new Set(series.marks[metric]);
    const broken = new Map(series.broken);
    series.at.forEach((commit, k) => {
      const x = xOf(commit);
      if (broken.has(commit)) {
        const cross = s("text", {class: "broken", x: x, y: bottom, "data-commit": sha(commit)},
          ["×", s("title", {}, `${sha(commit)} ${date(commit)}: ${broken.get(commit)}`)]);
        chart.append(linked(commit, cross, SVG_NS));
      }
      if (values[k] === null) return;
      const before = previous(values, k);
      const tip = `${sha(commit)} ${date(commit)}: ${format(metric, values[k])}` +
        (before === null ? "" : ` (${change(before, values[k])})`);
      const point = s("circle", {
        class: marked.has(commit) ? "point regressed" : "point", cx: x.toFixed(1),
        cy: y(values[k]).toFixed(1), r: marked.has(commit) ? 3 : 2, "data-commit": sha(commit),
      }, s("title", {}, tip));
      chart.append(linked(commit, point, SVG_NS));
      if (marked.has(commit)) {
        const top = y(values[k]) - 5;
        chart.append(s("path", {
          class: "regression", d: `M${x.toFixed(1)},${top.toFixed(1)}l4,-7h-8z`,
          "data-commit": sha(commit),
        }, s("title", {}, `worse beyond ${DATA.metrics[metric].threshold}: ${tip}`)));
      }
    });
    return chart;
  }

  function renderTrends(shown) {
    const cards = document.querySelector("#trends .cards");
    cards.replaceChildren(...shown.map((series) => h("article",
      {class: "card", "data-series": seriesId(series)},
      [h("h3", {}, name(series)),
        ...TREND.map((metric, i) => trendChart(series, metric, i === TREND.length - 1))])));
    if (!shown.length) cards.append(h("p", {class: "note"}, "No series matches the filters."));
  }

  /* ---- regressions ------------------------------------------------------------------------ */

  function renderRegressions(shown) {
    const steps = [];
    for (const series of shown) {
      for (const metric of TREND) {
        for (const commit of series.marks[metric]) {
          const k = series.at.indexOf(commit);
          const values = series.values[metric];
          steps.push({commit, series, metric, from: previous(values, k), to: values[k]});
        }
      }
    }
    steps.sort((a, b) => b.commit - a.commit);
    const thresholds = TREND.map((metric) => DATA.metrics[metric].threshold).join(", ");
    document.querySelector("#regressions .note").textContent = steps.length
      ? `${steps.length} step(s) worse than the commit before beyond the gate's thresholds ` +
        `(${thresholds}), newest first:`
      : "None: no figure got worse than at the commit before beyond the gate's thresholds " +
        `(${thresholds}).`;
    document.querySelector("#regressions ol").replaceChildren(...steps.map((step) =>
      h("li", {"data-commit": sha(step.commit), "data-series": seriesId(step.series)}, [
        linked(step.commit, h("code", {}, sha(step.commit))), ` ${date(step.commit)} `,
        h("strong", {}, name(step.series)),
        ` ${LABELS[step.metric]} ${format(step.metric, step.from)} → ` +
          `${format(step.metric, step.to)} (${change(step.from, step.to)})`])));
  }

  /* ---- latest: scatter, layers, table -------------------------------------------------- */

  const P = {width: 560, height: 360, left: 64, right: 16, top: 14, bottom: 44};
  const backends = [...new Set(DATA.series.map((series) => series.key[1]))].sort();
  const boards = [...new Set(DATA.series.map((series) => series.key[2]))].sort();

  function marker(board, x, y) {
    const r = 5;
    const shapes = [
      `M${x - r},${y}a${r},${r} 0 1,0 ${2 * r},0a${r},${r} 0 1,0 ${-2 * r},0`,
      `M${x - r},${y - r}h${2 * r}v${2 * r}h${-2 * r}z`,
      `M${x},${y - r - 1}l${r + 1},${r + 1}l${-r - 1},${r + 1}l${-r - 1},${-r - 1}z`,
      `M${x},${y - r - 1}l${r + 1},${2 * r}h${-2 * r - 2}z`,
    ];
    return shapes[boards.indexOf(board) % shapes.length];
  }

  function logTicks(low, high) {
    const ticks = [];
    const last = Math.ceil(Math.log10(high));
    for (let decade = Math.floor(Math.log10(low)); decade <= last; decade++) {
      for (const step of [1, 2, 5]) {
        const tick = step * Math.pow(10, decade);
        if (tick >= low && tick <= high) ticks.push(tick);
      }
    }
    return ticks;
  }

  function renderScatter(shown) {
    const figure = document.getElementById("scatter");
    figure.querySelectorAll("svg, .legend, .note").forEach((node) => node.remove());
    const runs = shown.filter((series) => !series.latest.broken &&
      series.latest.latency_ms !== null && series.latest.ram_bytes !== null);
    if (!runs.length) {
      figure.append(h("p", {class: "note"}, "No unbroken run with a latency and a RAM size."));
      return;
    }
    const latencies = runs.map((series) => series.latest.latency_ms);
    const low = Math.min(...latencies) / 1.5;
    const high = Math.max(...latencies) * 1.5;
    const ramTop = Math.max(...runs.map((series) => series.latest.ram_bytes)) / 1024 * 1.1;
    const right = P.width - P.right;
    const bottom = P.height - P.bottom;
    const x = (ms) => P.left + Math.log(ms / low) / Math.log(high / low) * (right - P.left);
    const y = (bytes) => bottom - bytes / 1024 / ramTop * (bottom - P.top);
    const chart = s("svg", {class: "scatter", viewBox: `0 0 ${P.width} ${P.height}`, role: "img",
      "aria-label": "latency against RAM of the latest run of each series"});
    chart.append(
      s("line", {class: "axis", x1: P.left, x2: right, y1: bottom, y2: bottom}),
      s("line", {class: "axis", x1: P.left, x2: P.left, y1: P.top, y2: bottom}),
      s("text", {class: "label", x: (P.left + right) / 2, y: P.height - 6},
        "latency per inference (ms, log scale)"),
      s("text", {class: "label", transform: `translate(14 ${(P.top + bottom) / 2}) rotate(-90)`},
        "RAM (KiB)"));
    for (const tick of logTicks(low, high)) {
      chart.append(s("line", {class: "grid", x1: x(tick), x2: x(tick), y1: P.top, y2: bottom}),
        s("text", {class: "tick", x: x(tick), y: bottom + 14, "text-anchor": "middle"},
          String(tick)));
    }
    const ramStep = Math.pow(10, Math.floor(Math.log10(ramTop)));
    for (let kib = 0; kib <= ramTop; kib += ramStep) {
      chart.append(s("text", {class: "tick end", x: P.left - 4, y: y(kib * 1024) + 3},
        String(kib)));
    }
    for (const series of runs) {
      const {latency_ms: ms, ram_bytes: ram, cycles, flash_bytes: flash, commit} = series.latest;
      const tip = `${name(series)} at ${sha(commit)}: ${format("latency_ms", ms)}, ` +
        `${format("cycles", cycles)} cycles, Flash ${format("flash_bytes", flash)}, ` +
        `RAM ${format("ram_bytes", ram)}`;
      const colour = COLOURS[backends.indexOf(series.key[1]) % COLOURS.length];
      chart.append(linked(commit, s("path", {
        class: "scatter-point", d: marker(series.key[2], x(ms), y(ram)), fill: colour,
        "data-series": seriesId(series),
      }, s("title", {}, tip)), SVG_NS));
      const weights = series.key[4] === "twin" ? "" : ` (${series.key[4]})`;
      chart.append(s("text", {class: "point-label", x: x(ms) + 7, y: y(ram) - 5},
                     series.key[0] + weights));
    }
    figure.append(chart, h("p", {class: "legend"}, [
      ...backends.map((backend, i) => h("span", {}, [
        h("i", {class: "swatch", style: `background:${COLOURS[i % COLOURS.length]}`}), backend])),
      ...boards.map((board) => h("span", {}, [
        s("svg", {class: "shape", viewBox: "0 0 14 14"}, s("path", {d: marker(board, 7, 7)})),
        board])),
    ]));
  }

  function layerChart(series) {
    const rows = series.layers;
    const most = Math.max(...rows.map((layer) => layer.cycles));
    const width = 560;
    const left = 170;
    const row = 15;
    const chart = s("svg", {
      class: "layers", viewBox: `0 0 ${width} ${rows.length * row + 4}`, role: "img",
      "data-series": seriesId(series), "aria-label": `cycles per layer of ${name(series)}`});
    rows.forEach((layer, i) => {
      const top = i * row + 2;
      const label = layer.op && layer.name !== layer.op
        ? `${layer.name} (${layer.op})` : layer.name || layer.op;
      const length = most > 0 ? layer.cycles / most * (width - left - 70) : 0;
      chart.append(
        s("text", {class: "tick end", x: left - 6, y: top + 10}, label),
        s("rect", {class: "layer-bar", x: left, y: top, width: length.toFixed(1), height: row - 4},
          s("title", {}, `${label}: ${layer.cycles.toLocaleString("en")} cycles`)),
        s("text", {class: "tick", x: left + length + 4, y: top + 10},
          layer.cycles.toLocaleString("en")));
    });
    return chart;
  }

  function renderLayers(shown) {
    const withLayers = shown.filter((series) => series.layers && series.layers.length);
    document.getElementById("layers").replaceChildren(
      h("h3", {}, "Cycles per layer, latest run"),
      ...(withLayers.length
        ? withLayers.map((series) => h("figure", {},
          [h("figcaption", {}, name(series)), layerChart(series)]))
        : [h("p", {class: "note"}, "No per-layer figures in these results.")]));
  }

  function renderTable(shown) {
    const metrics = ["cycles", "latency_ms", "flash_bytes", "ram_bytes", "arena_bytes"];
    document.querySelector("#latest tbody").replaceChildren(...shown.map((series) => {
      const last = series.latest;
      return h("tr", {"data-series": seriesId(series)}, [
        ...series.key.map((part) => h("td", {}, part)),
        h("td", {class: "commit"},
          [linked(last.commit, h("code", {}, sha(last.commit))), " " + date(last.commit)]),
        ...metrics.map((metric) => h("td", {
          class: (series.marks[metric] || []).includes(last.commit) ? "number regressed" : "number",
        }, format(metric, last[metric]))),
        h("td", {class: last.broken ? "broken" : "ok"}, last.broken || "ok"),
      ]);
    }));
  }

  function render() {
    const wanted = new URLSearchParams(location.hash.slice(1));
    for (const filter of FILTERS) {
      const select = form.elements[filter];
      const value = wanted.get(filter) || "";
      select.value = [...select.options].some((option) => option.value === value) ? value : "";
    }
    const shown = visible();
    const last = DATA.commits.length - 1;
    document.getElementById("summary").textContent =
      `${DATA.commits.length} commit(s) from ${date(0)} to ${date(last)}, ` +
      `showing ${shown.length} of ${DATA.series.length} series.`;
    renderRegressions(shown);
    renderTrends(shown);
    renderScatter(shown);
    renderLayers(shown);
    renderTable(shown);
  }

  FILTERS.forEach((filter, i) => {
    const select = form.elements[filter];
    select.append(h("option", {value: ""}, "all"));
    for (const value of [...new Set(DATA.series.map((series) => series.key[i]))].sort()) {
      select.append(h("option", {value}, value));
    }
  });
  form.addEventListener("change", () => {
    const want = new URLSearchParams();
    FILTERS.forEach((filter, i) => { if (chosen()[i]) want.set(filter, chosen()[i]); });
    location.hash = want.toString();
  });
  window.addEventListener("hashchange", render);
  render();
})();
