// The capability graph as inline SVG: one column per server, its tools stacked in it, and a curve from
// each tool to every tool its result feeds. Everything is built with createElementNS and textContent:
// names come from servers, which the gateway does not trust, so nothing is ever parsed as markup.
"use strict";

(function () {
  const NS = "http://www.w3.org/2000/svg";
  const COL_W = 190, COL_GAP = 70, HEAD_H = 26, NODE_H = 22, NODE_GAP = 6, PAD = 12, TOP = 10;

  function el(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function shortName(service, tool) {
    const prefix = service + "_";
    const name = tool.startsWith(prefix) ? tool.slice(prefix.length) : tool;
    return name.length > 24 ? name.slice(0, 23) + "…" : name;
  }

  // graph: {services: [{name, status, tools: [{name, risk, read_only}]}], edges: [{from, to, argument, why, declared}]}
  function draw(graph) {
    const services = graph.services || [];
    const rows = Math.max(1, ...services.map((s) => s.tools.length));
    const width = Math.max(1, services.length) * (COL_W + COL_GAP) - COL_GAP + 2 * PAD;
    const height = TOP + HEAD_H + rows * (NODE_H + NODE_GAP) + 2 * PAD;
    const svg = el("svg", {
      class: "graph", viewBox: `0 0 ${width} ${height}`, width: width, height: height, role: "group",
      "aria-label": `Capability graph: ${services.length} servers, ${(graph.edges || []).length} edges`,
    });
    const defs = el("defs");
    const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.appendChild(el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#2453a6" }));
    defs.appendChild(marker);
    svg.appendChild(defs);

    const where = new Map();  // tool name -> {x, y, column}
    const edgeLayer = el("g", { class: "edges" });
    const nodeLayer = el("g", { class: "nodes" });
    services.forEach((service, column) => {
      const x = PAD + column * (COL_W + COL_GAP);
      const colH = HEAD_H + service.tools.length * (NODE_H + NODE_GAP) + NODE_GAP;
      const status = ["serving", "down", "starting"].includes(service.status) ? service.status : "starting";
      nodeLayer.appendChild(el("rect", { class: `column ${status}`, x: x, y: TOP, width: COL_W, height: colH, rx: 6 }));
      nodeLayer.appendChild(el("rect", { class: `column-head ${status}`, x: x, y: TOP, width: COL_W, height: HEAD_H, rx: 6 }));
      const head = el("text", { class: "service-title column-head-text", x: x + 8, y: TOP + 17 }, `${service.name} · ${status}`);
      nodeLayer.appendChild(head);
      service.tools.forEach((tool, row) => {
        const y = TOP + HEAD_H + NODE_GAP + row * (NODE_H + NODE_GAP);
        where.set(tool.name, { x: x, y: y + NODE_H / 2, column: column });
        const risky = tool.risk === "high" || tool.risk === "critical";
        // Not a tab stop each (a fleet has dozens of tools): the edges table below is the keyboard route.
        const g = el("g", { class: "node", role: "img",
          "aria-label": `${tool.name}, risk ${tool.risk}${tool.read_only ? ", read-only" : ""}` });
        g.appendChild(el("title", {}, `${tool.name} (risk ${tool.risk}${tool.read_only ? ", read-only" : ""})`));
        g.appendChild(el("rect", { class: risky ? "tool risky" : "tool", x: x + 8, y: y, width: COL_W - 16, height: NODE_H, rx: 4 }));
        g.appendChild(el("text", { x: x + 14, y: y + 15 }, shortName(service.name, tool.name)));
        nodeLayer.appendChild(g);
      });
    });
    for (const edge of graph.edges || []) {
      const a = where.get(edge.from), b = where.get(edge.to);
      if (!a || !b) continue;
      let d;
      if (a.column === b.column) {  // within one server: a loop out of the column's right side
        const x = a.x + COL_W - 8, bulge = 28 + Math.abs(b.y - a.y) / 4;
        d = `M ${x} ${a.y} C ${x + bulge} ${a.y}, ${x + bulge} ${b.y}, ${x} ${b.y}`;
      } else {
        const forward = a.column < b.column;
        const x1 = forward ? a.x + COL_W - 8 : a.x + 8, x2 = forward ? b.x + 8 : b.x + COL_W - 8;
        const mid = (x1 + x2) / 2;
        d = `M ${x1} ${a.y} C ${mid} ${a.y}, ${mid} ${b.y}, ${x2} ${b.y}`;
      }
      const path = el("path", { class: edge.declared ? "edge" : "edge derived", d: d, "marker-end": "url(#arrow)" });
      path.appendChild(el("title", {}, `${edge.from} → ${edge.to}${edge.argument ? " (" + edge.argument + ")" : ""}: ${edge.why || ""}`));
      edgeLayer.appendChild(path);
    }
    svg.appendChild(edgeLayer);
    svg.appendChild(nodeLayer);
    return svg;
  }

  window.SophiaGraph = { draw: draw };
})();
