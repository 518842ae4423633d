// "Stacking a time series" lesson widget. The catalog (data/stacking/catalog.json) is parsed
// by the wasm core, which then says which byte ranges it needs: first each COG's header, then
// the tiles the stack reads. This page fetches them with HTTP Range requests and hands the
// bytes back; the cube, its summary and the SVG are the core's.
import init, { StackLesson, version } from "../pkg/geochip_wasm_stacking.js";

const root = document.getElementById("stack-lesson");
const $ = (id) => document.getElementById(id);
const CATALOG = new URL("data/stacking/catalog.json", document.baseURI);
let catalog = null;
// Totals over every run, for the reader and the browser test (root.geochipFetch).
const fetched = { requests: 0, partial: 0, bytes: 0 };

// Fetches one range; returns [offset, bytes, fileLength] or throws with the HTTP status.
async function fetchRange(r) {
  const url = new URL(r.href, CATALOG);
  const resp = await fetch(url, {
    headers: { Range: `bytes=${r.offset}-${r.offset + r.len - 1}` },
  });
  if (!resp.ok) {
    const err = new Error(`${r.href}: HTTP ${resp.status}`);
    err.status = resp.status;
    throw err;
  }
  const bytes = new Uint8Array(await resp.arrayBuffer());
  fetched.requests += 1;
  fetched.bytes += bytes.length;
  if (resp.status === 206) {
    fetched.partial += 1;
    // "Content-Range: bytes 0-16383/313697"
    const m = /\/(\d+)\s*$/.exec(resp.headers.get("Content-Range") || "");
    return [r.offset, bytes, m ? Number(m[1]) : r.offset + bytes.length];
  }
  // A server without Range support sends the whole file.
  return [0, bytes, bytes.length];
}

async function stack() {
  const session = new StackLesson(
    catalog,
    $("st-bands").value,
    $("st-resolution").value,
    $("st-crs").value,
    $("st-resampling").value,
    $("st-groupby").value,
    $("st-bbox").value,
  );
  try {
    for (let round = 0; round < 64; round++) {
      const need = session.step();
      if (need === undefined) return { summary: session.summary, svg: session.svg };
      const requests = JSON.parse(need);
      const answers = await Promise.allSettled(requests.map(fetchRange));
      answers.forEach((a, i) => {
        const r = requests[i];
        if (a.status === "fulfilled") {
          const [offset, bytes, fileLen] = a.value;
          session.add(r.href, offset, bytes, fileLen);
        } else {
          session.fail(r.href, a.reason.status === 404, String(a.reason.message ?? a.reason));
        }
      });
    }
    throw new Error("the stack still needed data after 64 rounds of requests");
  } finally {
    session.free();
  }
}

async function run() {
  const error = $("st-error");
  const button = $("st-run");
  button.disabled = true;
  root.geochipLast = null;
  const before = { ...fetched };
  const t0 = performance.now();
  try {
    const answer = await stack();
    $("st-svg").innerHTML = answer.svg;
    $("st-summary").textContent = answer.summary;
    root.geochipLast = answer;
    error.textContent = "";
    $("st-fetch").textContent =
      `${fetched.requests - before.requests} range requests ` +
      `(${fetched.partial - before.partial} answered 206 Partial Content), ` +
      `${((fetched.bytes - before.bytes) / 1000).toFixed(1)} KB fetched, ` +
      `${Math.round(performance.now() - t0)} ms.`;
  } catch (e) {
    $("st-svg").innerHTML = "";
    $("st-summary").textContent = "";
    $("st-fetch").textContent = "";
    root.geochipLast = null;
    error.textContent = e instanceof Error ? e.message : String(e);
  } finally {
    root.geochipFetch = { ...fetched };
    root.dataset.runs = String(Number(root.dataset.runs || "0") + 1);
    button.disabled = false;
  }
}

try {
  const [, resp] = await Promise.all([init(), fetch(CATALOG)]);
  if (!resp.ok) throw new Error(`${CATALOG}: HTTP ${resp.status}`);
  catalog = await resp.text();
  $("st-run").addEventListener("click", run);
  $("st-status").textContent = `geochip ${version()} (WebAssembly) is ready.`;
  await run();
  // Milliseconds since navigation started (the first stack included): the start-up time the
  // browser test reports.
  root.dataset.readyMs = String(performance.now());
  root.dataset.ready = "true";
} catch (e) {
  $("st-status").textContent = "";
  $("st-error").textContent = `Could not load the lesson: ${e}`;
}
