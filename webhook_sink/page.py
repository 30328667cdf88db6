"""The live page at ``GET /``: self-contained HTML that polls the query API (no CDN, no build)."""

from __future__ import annotations

PAGE_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tixallo webhook sink</title>
<style>
  :root { --bg:#f6f7f9; --card:#fff; --ink:#1c2430; --muted:#6b7685; --line:#e3e7ec;
          --ok:#137a3a; --okbg:#e3f5e9; --bad:#b42318; --badbg:#fdecea; --warn:#8a5a00; --warnbg:#fff4d6; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         background:var(--bg); color:var(--ink); }
  header { padding:18px 24px 8px; display:flex; align-items:baseline; gap:16px; flex-wrap:wrap; }
  h1 { font-size:18px; margin:0; }
  .muted { color:var(--muted); }
  code { font:12px ui-monospace, SFMono-Regular, Menlo, monospace; }
  .cards { display:flex; gap:12px; padding:8px 24px 16px; flex-wrap:wrap; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 14px; min-width:110px; }
  .card .n { font-size:22px; font-weight:600; font-variant-numeric:tabular-nums; }
  .card .l { font-size:12px; color:var(--muted); }
  main { padding:0 24px 24px; }
  table { width:100%; border-collapse:collapse; background:var(--card); border:1px solid var(--line);
          border-radius:8px; overflow:hidden; }
  th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); white-space:nowrap; }
  th { font-size:12px; color:var(--muted); font-weight:600; background:#fafbfc; position:sticky; top:0; }
  td.num { font-variant-numeric:tabular-nums; text-align:right; }
  td.id { font:12px ui-monospace, SFMono-Regular, Menlo, monospace; color:#3a4656; }
  .scroll { overflow-x:auto; border-radius:8px; }
  tr.new { animation: flash 1.2s ease-out; }
  @keyframes flash { from { background:#fff7c2; } to { background:transparent; } }
  .badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; }
  .v-valid { color:var(--ok); background:var(--okbg); }
  .v-bad { color:var(--bad); background:var(--badbg); }
  .flag { color:var(--warn); background:var(--warnbg); margin-left:4px; }
  .status { display:flex; gap:8px; align-items:center; margin-left:auto; }
  .dot { width:8px; height:8px; border-radius:50%; background:var(--ok); display:inline-block; }
  .dot.off { background:var(--bad); }
  button { font:inherit; border:1px solid var(--line); background:var(--card); border-radius:6px; padding:3px 10px; cursor:pointer; }
  #empty { padding:24px; text-align:center; color:var(--muted); }
</style>
</head>
<body>
<header>
  <h1>Tixallo webhook sink</h1>
  <span class="muted">deliveries to <code id="endpoint"></code> &middot; scheme <code id="scheme"></code></span>
  <span class="status"><span class="dot" id="dot"></span><span id="conn" class="muted">live</span>
    <button id="pause" type="button">Pause</button></span>
</header>
<section class="cards">
  <div class="card"><div class="n" id="count-total">0</div><div class="l">deliveries</div></div>
  <div class="card"><div class="n" id="count-valid">0</div><div class="l">valid</div></div>
  <div class="card"><div class="n" id="count-rejected">0</div><div class="l">rejected</div></div>
  <div class="card"><div class="n" id="count-retries">0</div><div class="l">retries</div></div>
  <div class="card"><div class="n" id="count-double">0</div><div class="l">double fires</div></div>
  <div class="card"><div class="n" id="count-schema">0</div><div class="l">schema errors</div></div>
  <div class="card"><div class="n" id="lag-p50">&ndash;</div><div class="l">lag p50</div></div>
  <div class="card"><div class="n" id="lag-p95">&ndash;</div><div class="l">lag p95</div></div>
  <div class="card"><div class="n" id="rate">0</div><div class="l">per second</div></div>
</section>
<main>
  <div class="scroll"><table>
    <thead><tr><th>#</th><th>received</th><th>verdict</th><th>answer</th><th>event</th>
      <th class="num">lag</th><th>ticket</th><th>message</th><th>delivery</th></tr></thead>
    <tbody id="events"></tbody>
  </table></div>
  <div id="empty">No deliveries yet. Point a webhook endpoint at <code id="endpoint2"></code>.</div>
</main>
<script>
"use strict";
const MAX_ROWS = 200;
let lastSeq = 0, generation = null, paused = false, rateMark = null;
const $ = (id) => document.getElementById(id);

function cell(text, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  td.textContent = text == null ? "" : String(text);
  return td;
}
function fmtLag(s) { return s == null ? "" : (s < 1 ? (s * 1000).toFixed(0) + " ms" : s.toFixed(2) + " s"); }
function fmtTime(t) {
  const d = new Date(t * 1000);
  return d.toLocaleTimeString([], {hour12: false}) + "." + String(d.getMilliseconds()).padStart(3, "0");
}
function row(e) {
  const tr = document.createElement("tr");
  tr.dataset.seq = e.seq;
  tr.className = "new";
  tr.appendChild(cell(e.seq, "num"));
  tr.appendChild(cell(fmtTime(e.received_at)));
  const v = cell("", "verdict");
  const b = document.createElement("span");
  b.className = "badge " + (e.verdict === "valid" ? "v-valid" : "v-bad");
  b.textContent = e.verdict.replace(/_/g, " ");
  v.appendChild(b);
  for (const [flag, label] of [["retry", "retry"], ["double_fire", "double fire"], ["injected", "injected"]]) {
    if (e[flag]) { const f = document.createElement("span"); f.className = "badge flag"; f.textContent = label; v.appendChild(f); }
  }
  if (e.schema_errors && e.schema_errors.length) {
    const f = document.createElement("span"); f.className = "badge flag"; f.textContent = "schema";
    f.title = e.schema_errors.join("\\n"); v.appendChild(f);
  }
  if (e.detail) v.title = e.detail;
  tr.appendChild(v);
  tr.appendChild(cell(e.status || "none", "num"));  // 0: the sender hung up during a stall
  tr.appendChild(cell(e.event_type || "", "event"));
  tr.appendChild(cell(fmtLag(e.lag), "num lag"));
  tr.appendChild(cell(e.ticket_id || "", "id ticket"));
  tr.appendChild(cell(e.message_id || "", "id message"));
  const d = cell(e.delivery_id ? e.delivery_id.slice(0, 8) : "", "id delivery");
  if (e.delivery_id) d.title = e.delivery_id;
  tr.appendChild(d);
  return tr;
}
let refused = false;
async function getJSON(url) {
  // Same-origin fetches carry the page's cookie, which holds the sink's token.
  const r = await fetch(url, {cache: "no-store", credentials: "same-origin"});
  refused = r.status === 401;
  if (!r.ok) throw new Error(url + ": " + r.status);
  return r.json();
}
function online(ok) {
  $("dot").className = ok ? "dot" : "dot off";
  $("conn").textContent = paused ? "paused" : (ok ? "live" : (refused
    ? "token refused: reopen this page as /?token=<TIXALLO_SINK_TOKEN>" : "disconnected, retrying"));
}
async function pollEvents() {
  const data = await getJSON("/_sink/events?order=desc&limit=" + MAX_ROWS + "&since=" + lastSeq);
  const body = $("events");
  if (generation !== null && data.generation !== generation) { body.textContent = ""; lastSeq = 0; }
  generation = data.generation;
  const fresh = data.events;  // newest first
  if (fresh.length) {
    const frag = document.createDocumentFragment();
    for (const e of fresh) frag.appendChild(row(e));
    body.insertBefore(frag, body.firstChild);
    lastSeq = Math.max(lastSeq, fresh[0].seq);
    while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
  }
  $("empty").style.display = body.rows.length ? "none" : "block";
}
async function pollStats() {
  const s = await getJSON("/_sink/stats");
  const valid = s.by_verdict.valid || 0;
  $("count-total").textContent = s.total;
  $("count-valid").textContent = valid;
  $("count-rejected").textContent = s.total - valid;
  $("count-retries").textContent = s.retries;
  $("count-double").textContent = s.double_fires;
  $("count-schema").textContent = s.schema_invalid;
  $("lag-p50").textContent = s.lag.count ? fmtLag(s.lag.p50) : "\\u2013";
  $("lag-p95").textContent = s.lag.count ? fmtLag(s.lag.p95) : "\\u2013";
  const t = performance.now();
  if (rateMark && t > rateMark.t) {
    $("rate").textContent = Math.max(0, Math.round((s.total - rateMark.total) * 1000 / (t - rateMark.t)));
  }
  rateMark = {t: t, total: s.total};
}
let tick = 0;
async function loop() {
  if (!paused) {
    try {
      await pollEvents();
      if (tick++ % 2 === 0) await pollStats();
      online(true);
    } catch (err) { online(false); }
  }
  setTimeout(loop, 500);
}
$("pause").addEventListener("click", () => {
  paused = !paused; $("pause").textContent = paused ? "Resume" : "Pause"; online(true);
});
getJSON("/_sink/health").then((h) => {
  const url = location.origin + h.webhook_path;
  $("endpoint").textContent = url; $("endpoint2").textContent = url; $("scheme").textContent = h.scheme;
}).catch(() => online(false));
loop();
</script>
</body>
</html>
"""
