// The live panel of a cookbook chapter (markup written by geochip-book-preprocessor): a form
// built from the recipe's parameters (name, type, default, range or choices), Run / Reset and
// progress. The recipe runs in a Web Worker (recipe-worker.js), so the page stays responsive;
// its outputs replace the ones computed when the book was built, and Reset brings those back
// (stopping a run in flight). The page itself loads no wasm: only the worker does.

const WORKER = new URL("./recipe-worker.js", import.meta.url);

function text(tag, cls, content) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (content !== undefined) el.textContent = content;
  return el;
}

function hint(p) {
  const parts = [p.type];
  if (p.choices && p.choices.length) parts.push(`one of: ${p.choices.join(", ")}`);
  else if (p.min !== null && p.max !== null) parts.push(`${p.min} to ${p.max}`);
  else if (p.min !== null) parts.push(`at least ${p.min}`);
  else if (p.max !== null) parts.push(`at most ${p.max}`);
  return parts.join(", ");
}

function field(root, p) {
  const id = `${root.id}-${p.name}`;
  const wrap = text("div", "geochip-field");
  const label = text("label");
  label.htmlFor = id;
  label.append(text("code", "", p.name), " ");
  let input;
  if (p.type === "bool") {
    input = document.createElement("input");
    input.type = "checkbox";
  } else if (p.choices && p.choices.length) {
    input = document.createElement("select");
    for (const c of p.choices) input.append(new Option(c, c));
  } else {
    input = document.createElement("input");
    input.type = "text";
    input.className = p.type === "string" ? "wide" : "narrow";
  }
  input.id = id;
  input.dataset.param = p.name;
  wrap.append(label, input, " ", text("span", "geochip-hint", `${hint(p)} — ${p.description}`));
  const msg = text("p", "geochip-field-error");
  msg.id = `${id}-error`;
  msg.setAttribute("role", "alert");
  wrap.append(msg);
  return { wrap, input, msg, p };
}

function setDefault(f) {
  if (f.p.type === "bool") f.input.checked = f.p.default === true;
  else f.input.value = String(f.p.default);
}

function value(f) {
  return f.p.type === "bool" ? String(f.input.checked) : f.input.value;
}

function setup(root) {
  const params = JSON.parse(root.querySelector(".geochip-params").textContent);
  const form = root.querySelector(".geochip-form");
  const runBtn = root.querySelector(".geochip-run");
  const resetBtn = root.querySelector(".geochip-reset");
  const bar = root.querySelector(".geochip-progress");
  const stepLine = root.querySelector(".geochip-step");
  const status = root.querySelector(".geochip-status");
  const error = root.querySelector(".geochip-error");
  const outputs = document.getElementById(root.dataset.outputs);
  const buildTime = outputs ? outputs.innerHTML : "";
  const recipeUrl = new URL(root.dataset.recipe, document.baseURI).href;
  const fields = params.map((p) => field(root, p));
  for (const f of fields) {
    setDefault(f);
    form.append(f.wrap);
  }
  root.dataset.runs = "0";

  let worker = null;
  let running = null;
  let nextId = 1;

  function clearMessages() {
    error.textContent = "";
    for (const f of fields) f.msg.textContent = "";
  }

  function finish() {
    running = null;
    runBtn.disabled = false;
    root.dataset.runs = String(Number(root.dataset.runs) + 1);
  }

  function onMessage(ev) {
    const m = ev.data;
    if (m.type === "ready") {
      root.geochipWorkerResources = m.resources;
      runBtn.disabled = false;
      status.textContent = "Ready: the recipe runs in your browser (WebAssembly, in a Web Worker).";
      if (!root.dataset.readyMs) {
        // Milliseconds since navigation started: the start-up time the browser test reports.
        root.dataset.readyMs = String(performance.now());
        root.dataset.ready = "true";
      }
      return;
    }
    if (m.type === "failed") {
      status.textContent = "";
      error.textContent = `Could not load the recipe runtime: ${m.message}`;
      return;
    }
    if (running === null || m.id !== running) return;
    if (m.type === "progress") {
      bar.max = Math.max(m.total, 1);
      bar.value = m.done;
      stepLine.textContent = m.step ? `step ${m.done + 1} of ${m.total}: ${m.step} (${m.op})` : "";
    } else if (m.type === "invalid") {
      const f = fields.find((f) => f.p.name === m.param);
      if (f) f.msg.textContent = m.message;
      else error.textContent = m.message;
      root.geochipLast = { invalid: m.param ?? null, message: m.message };
      status.textContent = "Nothing ran: a parameter does not fit the recipe.";
      finish();
    } else if (m.type === "done") {
      if (outputs) outputs.innerHTML = m.result.html;
      root.geochipLast = { outputs: m.result.outputs, defaults: m.result.defaults };
      root.geochipFetch = m.fetch;
      status.textContent = `Done: ${m.result.outputs.length} outputs, ${m.fetch.requests} requests for data.`;
      stepLine.textContent = "";
      finish();
    } else if (m.type === "error") {
      error.textContent = m.message;
      root.geochipLast = { error: m.message };
      root.geochipFetch = m.fetch;
      status.textContent = "The recipe stopped with an error.";
      stepLine.textContent = "";
      finish();
    }
  }

  function start() {
    worker = new Worker(WORKER, { type: "module" });
    worker.onmessage = onMessage;
    worker.onerror = (e) => {
      error.textContent = `The recipe worker failed: ${e.message || e}`;
      if (running !== null) finish();
    };
    worker.postMessage({ type: "init", recipe: recipeUrl, file: root.dataset.recipe });
  }

  runBtn.addEventListener("click", () => {
    if (running !== null) return;
    clearMessages();
    running = nextId++;
    runBtn.disabled = true;
    bar.value = 0;
    status.textContent = "Running…";
    const values = {};
    for (const f of fields) values[f.p.name] = value(f);
    worker.postMessage({ type: "run", id: running, values });
  });

  resetBtn.addEventListener("click", () => {
    for (const f of fields) setDefault(f);
    clearMessages();
    if (outputs) outputs.innerHTML = buildTime;
    root.geochipLast = null;
    bar.value = 0;
    stepLine.textContent = "";
    if (running !== null) {
      // A synchronous run cannot be interrupted from outside: stop its worker, start afresh.
      worker.terminate();
      running = null;
      runBtn.disabled = true;
      status.textContent = "Stopped; restarting the recipe runtime…";
      start();
    } else {
      status.textContent = "Reset to the defaults and the outputs computed when the book was built.";
    }
  });

  start();
}

for (const root of document.querySelectorAll(".geochip-recipe-panel")) setup(root);
