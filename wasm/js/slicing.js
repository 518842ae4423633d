// "Slicing a cube into chips" lesson widget. The grid of the image is read natively when the
// book is built (data/RGB.byte.grid.json); the chip plan and its SVG come from the wasm core.
import init, { sliceLesson, version } from "../pkg/geochip_wasm.js";

const root = document.getElementById("slice-lesson");
const $ = (id) => document.getElementById(id);
const IMAGE = "data/RGB.byte.png";
let gridJson = null;

function run() {
  const error = $("sl-error");
  try {
    const answer = sliceLesson(
      gridJson,
      $("sl-window").value,
      $("sl-overlap").value,
      $("sl-edge").value,
      $("sl-sampling").value,
      $("sl-count").value,
      $("sl-seed").value,
      IMAGE,
    );
    $("sl-svg").innerHTML = answer.svg;
    $("sl-summary").textContent = answer.summary;
    root.geochipLast = { svg: answer.svg, summary: answer.summary };
    error.textContent = "";
  } catch (e) {
    $("sl-svg").innerHTML = "";
    $("sl-summary").textContent = "";
    root.geochipLast = null;
    error.textContent = e instanceof Error ? e.message : String(e);
  }
}

try {
  const [, resp] = await Promise.all([init(), fetch("data/RGB.byte.grid.json")]);
  if (!resp.ok) throw new Error(`data/RGB.byte.grid.json: HTTP ${resp.status}`);
  gridJson = await resp.text();
  $("sl-run").addEventListener("click", run);
  $("sl-status").textContent = `geochip ${version()} (WebAssembly) is ready.`;
  run();
  // Milliseconds since navigation started: the start-up time the browser test reports.
  root.dataset.readyMs = String(performance.now());
  root.dataset.ready = "true";
} catch (e) {
  $("sl-status").textContent = "";
  $("sl-error").textContent = `Could not load the lesson: ${e}`;
}
