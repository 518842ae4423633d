// "Burning labels" lesson widget: the parcels (WKT served next to the book) are burned by the
// wasm core on the grid the reader sets; the SVG and summary are the core's.
import init, { burnLesson, version } from "../pkg/geochip_wasm.js";

const root = document.getElementById("burn-lesson");
const $ = (id) => document.getElementById(id);
let wkt = null;

function run() {
  const error = $("bl-error");
  try {
    const answer = burnLesson(
      wkt,
      $("bl-resolution").value,
      $("bl-shift-x").value,
      $("bl-shift-y").value,
      $("bl-all-touched").checked,
      $("bl-coverage").checked,
    );
    $("bl-svg").innerHTML = answer.svg;
    $("bl-summary").textContent = answer.summary;
    root.geochipLast = { svg: answer.svg, summary: answer.summary };
    error.textContent = "";
  } catch (e) {
    $("bl-svg").innerHTML = "";
    $("bl-summary").textContent = "";
    root.geochipLast = null;
    error.textContent = e instanceof Error ? e.message : String(e);
  }
}

try {
  const [, resp] = await Promise.all([init(), fetch("data/nl_plots_epsg_28992.wkt")]);
  if (!resp.ok) throw new Error(`data/nl_plots_epsg_28992.wkt: HTTP ${resp.status}`);
  wkt = await resp.text();
  $("bl-run").addEventListener("click", run);
  $("bl-status").textContent = `geochip ${version()} (WebAssembly) is ready.`;
  run();
  // Milliseconds since navigation started: the start-up time the browser test reports.
  root.dataset.readyMs = String(performance.now());
  root.dataset.ready = "true";
} catch (e) {
  $("bl-status").textContent = "";
  $("bl-error").textContent = `Could not load the lesson: ${e}`;
}
