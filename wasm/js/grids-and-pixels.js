// "Grids and pixels" lesson widget: reads the form, asks the wasm core, shows the answer.
// Errors thrown by the core carry the same message as the native build and are shown as is.
import init, { gridLesson, version } from "../pkg/geochip_wasm.js";

const root = document.getElementById("grid-lesson");
const $ = (id) => document.getElementById(id);

function run() {
  const answer = $("gl-answer");
  const error = $("gl-error");
  try {
    answer.textContent = gridLesson(
      $("gl-transform").value,
      $("gl-order").value,
      $("gl-width").value,
      $("gl-height").value,
      $("gl-col").value,
      $("gl-row").value,
      $("gl-crs").value,
    );
    error.textContent = "";
  } catch (e) {
    answer.textContent = "";
    error.textContent = e instanceof Error ? e.message : String(e);
  }
}

try {
  await init();
  $("gl-run").addEventListener("click", run);
  $("gl-status").textContent = `geochip ${version()} (WebAssembly) is ready.`;
  // Milliseconds since navigation started: the start-up time the browser test reports.
  root.dataset.readyMs = String(performance.now());
  root.dataset.ready = "true";
} catch (e) {
  $("gl-status").textContent = "";
  $("gl-error").textContent = `Could not load the geochip core: ${e}`;
}
