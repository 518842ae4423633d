// The recipe worker of the cookbook chapters: runs a recipe with the wasm build of the core
// (geochip_wasm_recipe: the recipe runtime, the Zarr layer, the SVG renderer) off the page's
// thread. The runtime reads files synchronously, which a Worker may do with synchronous XHR:
// whole files with GET, byte sources (the GeoTIFFs the stack step opens as COGs) with HTTP
// Range requests. Every URL is relative to the cookbook's recipe.toml, served next to the book.
//
// Messages in:  {type: "init", recipe: URL, file: "cookbooks/NAME/recipe.toml"}
//               {type: "run", id, values: {name: text}}
// Messages out: {type: "ready", resources} | {type: "failed", message}
//               {type: "progress", id, done, total, step, op}
//               {type: "invalid", id, param, message} (nothing ran)
//               {type: "done", id, result, fetch} | {type: "error", id, message, fetch}
import init, { checkParams, runRecipe } from "../pkg/geochip_wasm_recipe.js";

let recipeUrl = null;
let recipeFile = null;
let recipeText = null;
// Files a server sent whole (it ignored Range), kept so later ranges are sliced from them.
const whole = new Map();
const fetched = { requests: 0, partial: 0, bytes: 0 };

const url = (path) => new URL(path, recipeUrl).href;

// A 404 answers null when `absentOk` (a Zarr chunk that was never written reads as the fill
// value); every other failure throws an error naming the URL.
function get(path, range, absentOk) {
  const u = url(path);
  const r = new XMLHttpRequest();
  r.open("GET", u, false);
  r.responseType = "arraybuffer";
  if (range) r.setRequestHeader("Range", `bytes=${range[0]}-${range[1]}`);
  try {
    r.send();
  } catch (e) {
    throw new Error(`${u}: ${e && e.message ? e.message : e}`);
  }
  fetched.requests += 1;
  if (r.status === 206) fetched.partial += 1;
  if (absentOk && r.status === 404) return { r: null, bytes: null };
  if (r.status !== 200 && r.status !== 206) {
    throw new Error(`${u}: HTTP ${r.status} ${r.statusText || ""}`.trim());
  }
  const bytes = new Uint8Array(r.response);
  fetched.bytes += bytes.length;
  return { r, bytes };
}

const io = {
  url,
  read(path) {
    if (whole.has(path)) return whole.get(path);
    return get(path).bytes;
  },
  size(path) {
    if (whole.has(path)) return whole.get(path).length;
    const { r, bytes } = get(path, [0, 0], true);
    if (r === null) return null;
    if (r.status === 206) {
      const m = /\/(\d+)\s*$/.exec(r.getResponseHeader("Content-Range") || "");
      if (m) return Number(m[1]);
    }
    whole.set(path, bytes);
    return bytes.length;
  },
  range(path, offset, len) {
    if (len === 0) return new Uint8Array(0);
    const all = whole.get(path);
    if (all) return all.slice(offset, offset + len);
    const { r, bytes } = get(path, [offset, offset + len - 1]);
    if (r.status === 206) return bytes;
    whole.set(path, bytes);
    return bytes.slice(offset, offset + len);
  },
  now: () => performance.now(),
  progress: null,
};

// What this worker loaded (its wasm and JS, which the page's own Resource Timing does not
// see), for the start-up size the browser test measures; the worker's own script included.
const resources = () => [
  { name: self.location.href, transferSize: null },
  ...performance
    .getEntriesByType("resource")
    .map((e) => ({ name: e.name, transferSize: e.transferSize })),
];

self.onmessage = async (ev) => {
  const msg = ev.data;
  if (msg.type === "init") {
    try {
      recipeUrl = msg.recipe;
      recipeFile = msg.file;
      const [, resp] = await Promise.all([init(), fetch(recipeUrl)]);
      if (!resp.ok) throw new Error(`${recipeUrl}: HTTP ${resp.status} ${resp.statusText}`.trim());
      recipeText = await resp.text();
      self.postMessage({ type: "ready", resources: resources() });
    } catch (e) {
      self.postMessage({ type: "failed", message: e instanceof Error ? e.message : String(e) });
    }
    return;
  }
  if (msg.type !== "run") return;
  const id = msg.id;
  const values = JSON.stringify(msg.values);
  fetched.requests = fetched.partial = fetched.bytes = 0;
  try {
    const problem = checkParams(recipeFile, recipeText, values);
    if (problem !== null) {
      self.postMessage({ type: "invalid", id, ...JSON.parse(problem) });
      return;
    }
    io.progress = (done, total, step, op) =>
      self.postMessage({ type: "progress", id, done, total, step, op });
    const result = runRecipe(recipeFile, recipeText, values, io);
    self.postMessage({ type: "done", id, result: JSON.parse(result), fetch: { ...fetched } });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    self.postMessage({ type: "error", id, message, fetch: { ...fetched } });
  }
};
