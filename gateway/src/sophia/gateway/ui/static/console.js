// The operator console: reads one server-sent event feed (/ui/api/events) and redraws a panel when its
// event arrives; approve and deny go to the API's own /v1/approvals routes. Every value shown comes
// from tools, servers or callers and is untrusted: it is only ever set as textContent, never as HTML.
"use strict";

(function () {
  const KEY = "sophia.console.credential";
  const state = { identity: null, panels: {}, retryMs: 2000, backoff: 0, controller: null, busy: new Set(), skew: 0 };

  // -- small DOM helpers (text only) ------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function body(panel) { return document.querySelector(`#${panel} .body`); }
  function replace(panel, ...nodes) {
    body(panel).replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined));
  }
  function badge(text, kind) { return h("span", { class: `badge ${kind || text}` }, text); }
  function unavailable(message) { return h("p", { class: "unavailable" }, message); }
  function table(caption, headers, rows) {
    return h("div", { class: "scroll" }, h("table", {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, headers.map(([label, cls]) => h("th", { scope: "col", class: cls }, label)))),
      h("tbody", {}, rows)));
  }
  function when(seconds) {
    const t = new Date(Number(seconds) * 1000);
    if (isNaN(t)) return "";
    const time = t.toLocaleTimeString([], { hour12: false });
    return t.toDateString() === new Date().toDateString() ? time : `${t.toLocaleDateString()} ${time}`;
  }
  function ago(seconds) {
    const s = Math.max(0, Math.round(Number(seconds) || 0));
    if (s < 90) return `${s}s`;
    if (s < 5400) return `${Math.round(s / 60)}m`;
    return `${Math.round(s / 3600)}h`;
  }
  function usd(value) { return value === null || value === undefined ? "no limit" : `$${Number(value).toFixed(4)}`; }
  function announce(text) { document.getElementById("announce").textContent = text; }
  function credentialHeaders() {
    const credential = sessionStorage.getItem(KEY);
    return credential ? { authorization: `Bearer ${credential}` } : {};
  }
  function setConnection(stateName, text) {
    const node = document.getElementById("connection");
    node.dataset.state = stateName;
    node.textContent = text;
  }

  // -- panels ------------------------------------------------------------------------------------------
  const render = {
    identity(data) {
      state.identity = data;
      state.skew = data.server_time - Date.now() / 1000;  // server clock minus ours
      const auth = data.auth === "off" ? " · auth off (local)" : "";
      document.getElementById("identity").textContent =
        `Signed in as ${data.name} (${data.roles.join(", ")})${auth}`;
      document.getElementById("signout").hidden = !sessionStorage.getItem(KEY);
      if (state.panels.approvals) render.approvals(state.panels.approvals);
    },

    fleet(data) {
      const rows = data.servers.map((s) => h("tr", { "data-server": s.name, "data-status": s.status },
        h("th", { scope: "row" }, s.name, h("div", { class: "muted mono" }, `${s.kind} ${s.address}`)),
        h("td", {}, badge(s.status)),
        h("td", { class: "num" }, ago(Date.now() / 1000 + state.skew - s.since)),
        h("td", { class: "num" }, s.tools),
        h("td", {}, s.version || ""),
        h("td", { class: "error" }, s.error || "")));
      replace("fleet", data.servers.length
        ? table("Servers and their health", [["Server"], ["Status"], ["For", "num"], ["Tools", "num"], ["Version"], ["Last error"]], rows)
        : h("p", { class: "muted" }, "No servers are configured."));
    },

    graph(data) {
      const edges = data.edges.map((e) => h("tr", {},
        h("td", { class: "mono" }, e.from), h("td", { class: "mono" }, e.to),
        h("td", {}, e.argument || "—"), h("td", {}, e.declared ? "declared" : "derived"), h("td", {}, e.why || "")));
      replace("graph",
        data.services.length ? h("div", { class: "graph-wrap" }, window.SophiaGraph.draw(data)) : h("p", { class: "muted" }, "No tools are serving."),
        h("details", {}, h("summary", {}, `${data.edges.length} edges as a table`),
          table("Edges of the capability graph", [["From"], ["To"], ["Argument"], ["Kind"], ["Why"]], edges)));
    },

    approvals(data) {
      if (data.unavailable) return replace("approvals", unavailable(data.unavailable));
      const mayApprove = state.identity && state.identity.may_approve;
      const pending = data.pending.map((a) => {
        const actions = mayApprove ? h("div", { class: "actions" },
          h("button", { type: "button", "data-action": "approve", "data-id": a.id, disabled: state.busy.has(a.id),
            "aria-label": `Approve ${a.tool} (${a.id})`, onclick: () => decide(a.id, "approve", a.tool) }, "Approve"),
          h("button", { type: "button", class: "secondary", "data-action": "deny", "data-id": a.id, disabled: state.busy.has(a.id),
            "aria-label": `Deny ${a.tool} (${a.id})`, onclick: () => decide(a.id, "deny", a.tool) }, "Deny")) : null;
        return h("article", { class: "card", "data-approval": a.id, "aria-label": `Held call ${a.tool}` },
          h("p", {}, badge("pending"), " ", h("strong", { class: "mono" }, a.tool), " · ", h("span", { class: "mono" }, a.id)),
          h("p", {}, `Asked by ${a.requester} at ${when(a.created_at)}; expires ${when(a.expires_at)}`),
          h("p", {}, `Why held: ${a.reason}`),
          a.query ? h("p", {}, `Request: ${a.query}`) : null,
          h("p", { class: "muted" }, "Exactly these arguments run if approved:"),
          h("pre", { class: "arguments" }, JSON.stringify(a.arguments, null, 2)),
          actions);
      });
      const decided = data.decided.map((a) => h("article", { class: "card", "data-approval": a.id },
        h("p", {}, badge(a.status), " ", h("strong", { class: "mono" }, a.tool), " · ", h("span", { class: "mono" }, a.id)),
        h("p", {}, `Decided by ${a.decided_by || "?"} at ${when(a.decided_at)}`),
        a.error ? h("p", { class: "error" }, a.error) : null,
        a.result ? h("pre", { class: "result" }, resultText(a.result)) : null));
      replace("approvals",
        h("h3", {}, `Pending (${data.pending.length})`),
        pending.length ? pending : h("p", { class: "muted" }, "Nothing is waiting for a decision."),
        mayApprove ? null : h("p", { class: "muted" }, "Your roles may not approve; you see your own requests."),
        h("h3", {}, "Recently decided"),
        decided.length ? decided : h("p", { class: "muted" }, "None yet."));
    },

    calls(data) {
      state.panels.calls = data;
      if (data.unavailable) return replace("calls", unavailable(data.unavailable));
      const hide = document.getElementById("hide-console").checked;
      const entries = data.entries.filter((e) => !(hide && e.detail === "ui"));
      const rows = entries.map((e) => h("tr", { "data-trace": e.trace_id },
        h("td", {}, when(e.at)),
        h("td", { class: "mono" }, e.tool),
        h("td", {}, e.principal),
        h("td", {}, badge(e.outcome, outcomeKind(e.outcome))),
        h("td", { class: "num" }, Number(e.duration_ms || 0).toFixed(1)),
        h("td", { class: "mono" }, e.trace_id || "—"),
        h("td", {}, e.event === "call" ? e.detail : `${e.event}: ${e.detail}`),
        h("td", { class: "mono" }, (e.arguments || "").slice(0, 160))));
      replace("calls", rows.length
        ? table("Recent calls from the audit stream", [["Time"], ["Tool"], ["Principal"], ["Outcome"], ["ms", "num"], ["Trace id"], ["Source"], ["Arguments (redacted)"]], rows)
        : h("p", { class: "muted" }, "No calls recorded yet."));
    },

    usage(data) {
      const router = data.router || {};
      const routerPart = router.unavailable ? unavailable(`Router: ${router.unavailable}`) : h("div", {},
        h("p", { class: "figure" }, usd(router.spend_usd)),
        h("p", { class: "muted" }, `spent on ${router.completions} completions (${router.failed} failed, ${router.fallbacks} fallbacks)`),
        table("Spend per model", [["Model"], ["Calls", "num"], ["Input tokens", "num"], ["Output tokens", "num"], ["Spend", "num"]],
          Object.entries(router.by_model || {}).map(([model, m]) => h("tr", {},
            h("th", { scope: "row", class: "mono" }, model), h("td", { class: "num" }, m.calls),
            h("td", { class: "num" }, m.input_tokens), h("td", { class: "num" }, m.output_tokens), h("td", { class: "num" }, usd(m.spend_usd))))),
        h("h3", {}, "Budgets"),
        table("Budgets", [["Scope"], ["Period"], ["Limit", "num"], ["Spent", "num"], ["Held", "num"], ["Remaining", "num"]],
          (router.budgets || []).map((b) => h("tr", {},
            h("td", {}, b.scope), h("td", {}, `${b.period} ${b.period_key}`), h("td", { class: "num" }, usd(b.limit_usd)),
            h("td", { class: "num" }, usd(b.spent_usd)), h("td", { class: "num" }, usd(b.held_usd)), h("td", { class: "num" }, usd(b.remaining_usd))))));
      const memory = data.memory || {};
      const visual = data.visual || {};
      replace("usage", h("div", { class: "usage-grid" },
        h("div", { "data-figure": "router" }, h("h3", {}, "Router spend per model"), routerPart),
        h("div", { "data-figure": "memory" }, h("h3", {}, "Memory index"), memory.unavailable ? unavailable(memory.unavailable) : h("div", {},
          h("p", { class: "figure" }, `${memory.memories} memories`),
          h("p", { class: "muted" }, `${memory.current} current, ${memory.superseded} superseded · namespace ${memory.namespace} · ${memory.storage}`))),
        h("div", { "data-figure": "visual" }, h("h3", {}, "Visual index"), visual.unavailable ? unavailable(visual.unavailable) : h("div", {},
          h("p", { class: "figure" }, `${visual.images} images`),
          h("p", { class: "muted" }, `namespace ${visual.namespace} · ${visual.storage}`)))));
    },

    bye(data) { setConnection("connecting", `reconnecting (${data.reason})`); },
  };

  function outcomeKind(outcome) {
    if (["ok", "approved", "executed"].includes(outcome)) return "ok";
    if (["held", "tool_error", "rate_limited", "cancelled"].includes(outcome)) return "warn";
    return "bad";
  }

  function resultText(result) {
    if (result.omitted) return result.omitted;
    const texts = (result.content || []).filter((b) => b && typeof b.text === "string").map((b) => b.text);
    return texts.length ? texts.join("\n") : JSON.stringify(result.structuredContent || result, null, 2);
  }

  // -- approve / deny through the API's own routes -------------------------------------------------------
  async function decide(id, action, tool) {
    state.busy.add(id);
    if (state.panels.approvals) render.approvals(state.panels.approvals);
    announce(`${action === "approve" ? "Approving" : "Denying"} ${tool}…`);
    try {
      const response = await fetch(`/v1/approvals/${encodeURIComponent(id)}/${action}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...credentialHeaders() },
        body: JSON.stringify({ approver: (state.identity && state.identity.name) || "console" }),
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) announce(`${tool} ${answer.status || action + "d"}`);
      else announce(`Could not ${action} ${tool}: ${(answer.error && answer.error.message) || response.status}`);
    } catch (error) {
      announce(`Could not ${action} ${tool}: the gateway did not answer`);
    } finally {
      state.busy.delete(id);
    }
  }

  // -- the feed: fetch (so the credential travels in a header) reading text/event-stream ---------------
  function dispatch(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;  // heartbeat
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
      else if (field === "retry" && /^\d+$/.test(value)) state.retryMs = Number(value);
    }
    if (!data.length || !Object.prototype.hasOwnProperty.call(render, name)) return;
    const payload = JSON.parse(data.join("\n"));
    if (name !== "bye" && name !== "identity") state.panels[name] = payload;
    render[name](payload);
  }

  async function connect() {
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    setConnection("connecting", "connecting…");
    let response;
    try {
      response = await fetch("/ui/api/events", {
        headers: { accept: "text/event-stream", ...credentialHeaders() }, cache: "no-store", signal: controller.signal,
      });
    } catch (error) {
      return reconnect("the gateway did not answer");
    }
    if (response.status === 401) {
      setConnection("signed-out", "sign in to see the fleet");
      document.getElementById("signin").hidden = false;
      if (sessionStorage.getItem(KEY)) document.getElementById("signin-error").textContent = "That credential was refused.";
      sessionStorage.removeItem(KEY);
      document.getElementById("credential").focus();
      return;
    }
    if (!response.ok) {
      const answer = await response.json().catch(() => ({}));
      return reconnect((answer.error && answer.error.message) || `HTTP ${response.status}`);
    }
    document.getElementById("signin").hidden = true;
    setConnection("live", "live");
    state.backoff = 0;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return;
    }
    reconnect("the feed ended");
  }

  function reconnect(why) {
    state.backoff = Math.min(5, state.backoff + 1);
    const delay = Math.min(30000, state.retryMs * state.backoff);
    setConnection("error", `${why}; retrying in ${Math.round(delay / 1000)}s`);
    setTimeout(connect, delay);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("signin").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = document.getElementById("credential");
      const credential = input.value.trim();
      input.value = "";
      if (!credential) return;
      sessionStorage.setItem(KEY, credential);
      document.getElementById("signin-error").textContent = "";
      connect();
    });
    document.getElementById("signout").addEventListener("click", () => {
      sessionStorage.removeItem(KEY);
      if (state.controller) state.controller.abort();
      location.reload();
    });
    // Ages ("serving for 3m") move on between updates; the feed sends the fleet only when health changes.
    setInterval(() => { if (state.panels.fleet) render.fleet(state.panels.fleet); }, 5000);
    document.getElementById("hide-console").addEventListener("change", () => {
      if (state.panels.calls) render.calls(state.panels.calls);
    });
    connect();
  });
})();
