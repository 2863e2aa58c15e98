// mnemos entity graph: a small force-directed layout drawn in SVG. No library.
// Reads {nodes: [{id, label, kind, weight, url}], edges: [{source, target, label, weight}]}
// from the URL in the container's data-src and lays it out in the browser.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const COLORS = {person: "#2f5bd3", place: "#2d7a46", organization: "#a15c00", thing: "#8a3ffc", concept: "#667085"};

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function layout(nodes, edges, width, height) {
    // Fruchterman-Reingold with a cooling schedule; deterministic start on a circle.
    const n = nodes.length;
    const k = Math.sqrt((width * height) / Math.max(n, 1)) * 0.6;
    nodes.forEach((d, i) => {
      const a = (2 * Math.PI * i) / Math.max(n, 1);
      d.x = width / 2 + (width / 3) * Math.cos(a);
      d.y = height / 2 + (height / 3) * Math.sin(a);
    });
    const index = new Map(nodes.map((d, i) => [d.id, i]));
    const links = edges.filter((e) => index.has(e.source) && index.has(e.target))
      .map((e) => ({s: index.get(e.source), t: index.get(e.target), w: e.weight || 1, label: e.label}));
    let temp = width / 8;
    for (let step = 0; step < 300; step++) {
      const dx = new Float64Array(n), dy = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          let x = nodes[i].x - nodes[j].x, y = nodes[i].y - nodes[j].y;
          const d2 = Math.max(x * x + y * y, 0.01), f = (k * k) / d2;
          dx[i] += x * f; dy[i] += y * f; dx[j] -= x * f; dy[j] -= y * f;
        }
      }
      for (const l of links) {
        const a = nodes[l.s], b = nodes[l.t];
        const x = a.x - b.x, y = a.y - b.y, d = Math.max(Math.sqrt(x * x + y * y), 0.01);
        const f = (d / k) * Math.min(l.w, 4);
        dx[l.s] -= x * f; dy[l.s] -= y * f; dx[l.t] += x * f; dy[l.t] += y * f;
      }
      for (let i = 0; i < n; i++) {
        // Gravity (an attraction to the centre growing with distance, like an edge's) keeps
        // unconnected entities near the rest instead of pushed to the edges.
        const gx = width / 2 - nodes[i].x, gy = height / 2 - nodes[i].y;
        const g = Math.sqrt(gx * gx + gy * gy) / k * 0.6;
        dx[i] += gx * g; dy[i] += gy * g;
        const d = Math.max(Math.sqrt(dx[i] * dx[i] + dy[i] * dy[i]), 0.01);
        nodes[i].x += (dx[i] / d) * Math.min(d, temp);
        nodes[i].y += (dy[i] / d) * Math.min(d, temp);
      }
      temp *= 0.985;
    }
    return links;
  }

  function draw(container, data) {
    const width = container.clientWidth || 900, height = container.clientHeight || 600;
    const nodes = data.nodes.map((d) => Object.assign({}, d));
    const links = layout(nodes, data.edges, width, height);
    const svg = el("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "entity graph"}, container);
    const view = el("g", {}, svg);
    const lineEls = links.map((l) => {
      const line = el("line", {"stroke-width": Math.min(1 + l.w, 6)}, view);
      if (l.label) el("title", {}, line).textContent = l.label;
      return line;
    });
    const maxW = Math.max(1, ...nodes.map((d) => d.weight || 1));
    const nodeEls = nodes.map((d) => {
      const g = el("g", {class: "node", "data-id": d.id, tabindex: "0"}, view);
      el("circle", {r: 6 + 12 * Math.sqrt((d.weight || 1) / maxW), fill: COLORS[d.kind] || "#667085"}, g);
      el("text", {x: 12, y: 4}, g).textContent = d.label;
      el("title", {}, g).textContent = `${d.label} (${d.kind || "entity"}, ${d.weight || 1} memories)`;
      return g;
    });
    function paint() {
      links.forEach((l, i) => {
        const a = nodes[l.s], b = nodes[l.t];
        lineEls[i].setAttribute("x1", a.x); lineEls[i].setAttribute("y1", a.y);
        lineEls[i].setAttribute("x2", b.x); lineEls[i].setAttribute("y2", b.y);
      });
      nodes.forEach((d, i) => nodeEls[i].setAttribute("transform", `translate(${d.x},${d.y})`));
    }
    paint();

    // Pan, zoom and drag; start with the whole graph fitted into view.
    let scale = 1, tx = 0, ty = 0, dragging = null, panning = null;
    const apply = () => view.setAttribute("transform", `translate(${tx},${ty}) scale(${scale})`);
    const xs = nodes.map((d) => d.x), ys = nodes.map((d) => d.y);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const margin = 60;
    scale = Math.min(2, (width - 2 * margin) / Math.max(x1 - x0, 1), (height - 2 * margin) / Math.max(y1 - y0, 1));
    tx = width / 2 - scale * (x0 + x1) / 2;
    ty = height / 2 - scale * (y0 + y1) / 2;
    apply();
    const toLocal = (ev) => {
      const r = svg.getBoundingClientRect();
      return {x: ((ev.clientX - r.left) * (width / r.width) - tx) / scale,
              y: ((ev.clientY - r.top) * (height / r.height) - ty) / scale};
    };
    svg.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const f = ev.deltaY < 0 ? 1.1 : 1 / 1.1;
      const p = toLocal(ev);
      scale *= f; tx -= p.x * scale * (1 - 1 / f); ty -= p.y * scale * (1 - 1 / f);
      apply();
    }, {passive: false});
    nodeEls.forEach((g, i) => {
      g.addEventListener("pointerdown", (ev) => { dragging = i; ev.stopPropagation(); });
      const open = () => select(i);
      g.addEventListener("click", open);
      g.addEventListener("keydown", (ev) => { if (ev.key === "Enter") open(); });
    });
    svg.addEventListener("pointerdown", (ev) => { panning = {x: ev.clientX - tx, y: ev.clientY - ty}; });
    window.addEventListener("pointermove", (ev) => {
      if (dragging !== null) { const p = toLocal(ev); nodes[dragging].x = p.x; nodes[dragging].y = p.y; paint(); }
      else if (panning) { tx = ev.clientX - panning.x; ty = ev.clientY - panning.y; apply(); }
    });
    window.addEventListener("pointerup", () => { dragging = null; panning = null; });

    const panel = container.querySelector(".graph-panel");
    function select(i) {
      const d = nodes[i];
      nodeEls.forEach((g, j) => g.classList.toggle("focus", j === i));
      if (!panel) return;
      const related = links.filter((l) => l.s === i || l.t === i)
        .map((l) => ({other: nodes[l.s === i ? l.t : l.s], label: l.label, w: l.w, out: l.s === i}))
        .sort((a, b) => b.w - a.w);
      panel.hidden = false;
      panel.replaceChildren();
      const h = document.createElement("h3");
      const a = document.createElement("a");
      a.href = d.url || "#"; a.textContent = d.label;
      h.appendChild(a); panel.appendChild(h);
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = `${d.kind || "entity"} · ${d.weight || 1} memories`;
      panel.appendChild(p);
      const ul = document.createElement("ul");
      for (const r of related) {
        const li = document.createElement("li");
        // Labelled edges read source -> target ("Ana employer Tidewater"); the others join
        // entities mentioned in the same messages.
        if (!r.label) li.textContent = `mentioned with ${r.other.label} (${r.w}×)`;
        else li.textContent = r.out ? `${r.label}: ${r.other.label}` : `${r.other.label} → ${r.label}`;
        ul.appendChild(li);
      }
      panel.appendChild(ul);
    }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const container = document.querySelector("[data-graph-src]");
    if (!container) return;
    const status = container.querySelector(".graph-status");
    try {
      const response = await fetch(container.dataset.graphSrc, {credentials: "same-origin"});
      const data = await response.json();
      if (!response.ok) throw new Error(data.message || response.statusText);
      if (!data.nodes.length) { status.textContent = "No entities in this scope yet."; return; }
      status.remove();
      draw(container, data);
      container.dataset.ready = "true";
    } catch (err) {
      status.textContent = `Could not load the graph: ${err.message}`;
    }
  });
})();
