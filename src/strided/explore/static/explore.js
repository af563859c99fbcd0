// strided explore: the page draws; every number comes from the server's JSON API.
"use strict";

const $ = (id) => document.getElementById(id);
// a negative number in parentheses, as `strided explain` writes its products
const signed = (text) => (text.startsWith("-") ? "(" + text + ")" : text);
const state = { catalogue: null, upload: null, kernelCells: null, data: null, pinned: null,
                hovered: null, request: 0, scale: { input: 1, output: 1 } };
const COLOURS = { field: "rgba(255, 140, 0, 0.45)", padding: "#e4e8f0", edge: "#c05000",
                  chosen: "#d2691e" };

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(path, body, form) {
  const options = body === undefined && !form ? {} : {
    method: "POST",
    headers: form ? {} : { "Content-Type": "application/json" },
    body: form || JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    throw new Error("the strided server does not answer (" + error.message + ")");
  }
  let answer;
  try {
    answer = await response.json();
  } catch (error) {
    throw new Error("the server answered " + response.status + " without JSON");
  }
  if (!response.ok) throw new Error(answer.error || ("error " + response.status));
  return answer;
}

// ---- drawing --------------------------------------------------------------------------------

function fitScale(rows, cols, box, numbers) {
  if (numbers) return Math.max(26, Math.min(52, Math.floor(box / Math.max(rows, cols))));
  return Math.max(1, Math.min(16, box / Math.max(rows, cols)));
}

function drawPixels(ctx, pixels, scale) {
  const rows = pixels.length, cols = pixels[0].length;
  const off = document.createElement("canvas");
  off.width = cols; off.height = rows;
  const octx = off.getContext("2d");
  const image = octx.createImageData(cols, rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const g = pixels[r][c], i = 4 * (r * cols + c);
      image.data[i] = image.data[i + 1] = image.data[i + 2] = g;
      image.data[i + 3] = 255;
    }
  }
  octx.putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, 0, 0, cols * scale, rows * scale);
}

// A matrix: numbers in cells when `texts` is given, else grey pixels; `marks(r, c)` -> colour.
function drawMatrix(canvas, pixels, texts, scale, marks, isPadding) {
  const rows = pixels.length, cols = pixels[0].length;
  canvas.width = Math.ceil(cols * scale) + 1; canvas.height = Math.ceil(rows * scale) + 1;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (texts) {
    const size = Math.floor(scale * 0.38);
    ctx.textAlign = "center"; ctx.textBaseline = "middle";
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const pad = isPadding && isPadding[r][c];
        ctx.fillStyle = pad ? COLOURS.padding : "#fff";
        ctx.fillRect(c * scale, r * scale, scale, scale);
        const mark = marks && marks(r, c);
        if (mark) { ctx.fillStyle = mark; ctx.fillRect(c * scale, r * scale, scale, scale); }
        ctx.strokeStyle = "#b8bfcc"; ctx.strokeRect(c * scale + 0.5, r * scale + 0.5, scale, scale);
        ctx.fillStyle = pad ? "#778" : "#111";
        const label = pad ? "(" + texts[r][c] + ")" : texts[r][c];
        ctx.font = size + "px ui-monospace, monospace";
        const wide = ctx.measureText(label).width;
        if (wide > scale - 4) {  // a long number gets a smaller font, never spills over
          ctx.font = Math.max(7, Math.floor(size * (scale - 4) / wide)) + "px ui-monospace, monospace";
        }
        ctx.fillText(label, (c + 0.5) * scale, (r + 0.5) * scale);
      }
    }
    return ctx;
  }
  drawPixels(ctx, pixels, scale);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (isPadding && isPadding[r][c]) {
        ctx.fillStyle = "rgba(120, 150, 220, 0.35)";
        ctx.fillRect(c * scale, r * scale, scale, scale);
      }
      const mark = marks && marks(r, c);
      if (mark) { ctx.fillStyle = mark; ctx.fillRect(c * scale, r * scale, scale, scale); }
    }
  }
  return ctx;
}

function outline(ctx, r0, c0, r1, c1, scale, colour) {
  ctx.strokeStyle = colour; ctx.lineWidth = Math.max(2, Math.min(3, scale / 8));
  ctx.strokeRect(c0 * scale, r0 * scale, (c1 - c0) * scale, (r1 - r0) * scale);
  ctx.lineWidth = 1;
}

// ---- the playground ---------------------------------------------------------------------------

function kernelSpec() {
  const name = $("kernel-name").value;
  if (name === "custom") return { cells: state.kernelCells };
  const spec = { name: name };
  if (name === "gaussian" || name === "box-blur") spec.size = $("kernel-size").value;
  if (name === "gaussian") spec.sigma = $("kernel-sigma").value;
  return spec;
}

function imageSpec() {
  const kind = $("image-kind").value;
  if (kind === "matrix") return { kind: kind, text: $("matrix-text").value };
  if (kind === "digit") return { kind: kind, index: $("digit-index").value };
  if (kind === "upload") {
    if (!state.upload) throw new Error("choose an image file to upload");
    return { kind: kind, id: state.upload.id };
  }
  return { kind: kind };
}

function config() {
  const body = {
    image: imageSpec(), kernel: kernelSpec(),
    stride: [$("stride-rows").value, $("stride-cols").value],
    dilation: [$("dilation-rows").value, $("dilation-cols").value],
    padding_mode: $("padding-mode").value, convolve: $("convolve").checked,
    display: $("display").value,
  };
  const padding = $("padding").value;
  body.padding = padding !== "explicit" ? padding : [[$("pad-top").value, $("pad-bottom").value],
                                                     [$("pad-left").value, $("pad-right").value]];
  return body;
}

function buildKernelGrid(cells, editable) {
  const grid = $("kernel-grid");
  grid.innerHTML = "";
  grid.style.gridTemplateColumns = "repeat(" + cells[0].length + ", auto)";
  const longest = Math.max(...cells.flat().map((v) => String(v).length));
  const width = Math.max(4, Math.min(11, longest + 1)) + "ch";
  cells.forEach((row, r) => row.forEach((value, c) => {
    const input = document.createElement("input");
    input.value = value; input.dataset.r = r; input.dataset.c = c; input.style.width = width;
    input.className = "kcell"; input.setAttribute("aria-label", "kernel cell " + r + "," + c);
    input.addEventListener("input", () => {
      state.kernelCells[r][c] = input.value;
      $("kernel-name").value = "custom";
      kernelControls();
      schedule();
    });
    grid.appendChild(input);
  }));
  state.kernelCells = cells.map((row) => row.slice());
  $("kernel-rows").value = cells.length; $("kernel-cols").value = cells[0].length;
  grid.dataset.editable = editable ? "1" : "0";
}

function resizeKernel() {
  const rows = Math.max(1, Math.min(15, parseInt($("kernel-rows").value, 10) || 1));
  const cols = Math.max(1, Math.min(15, parseInt($("kernel-cols").value, 10) || 1));
  const old = state.kernelCells || [["0"]];
  const cells = [];
  for (let r = 0; r < rows; r++) {
    cells.push([]);
    for (let c = 0; c < cols; c++) cells[r].push(old[r] && old[r][c] !== undefined ? old[r][c] : "0");
  }
  buildKernelGrid(cells, true);
  schedule();
}

function kernelControls() {
  const name = $("kernel-name").value;
  $("kernel-size-label").hidden = !(name === "gaussian" || name === "box-blur");
  $("kernel-sigma-label").hidden = name !== "gaussian";
  $("kernel-shape-controls").hidden = name !== "custom";
  const known = state.catalogue.kernels.find((k) => k.name === name);
  $("kernel-description").textContent = known ? known.description : "edited cell by cell";
}

function imageControls() {
  const kind = $("image-kind").value;
  $("matrix-text").hidden = kind !== "matrix";
  $("digit-label").hidden = kind !== "digit";
  $("upload-file").hidden = kind !== "upload";
}

let timer = null;
function schedule() {
  clearTimeout(timer);
  timer = setTimeout(update, 120);
}

async function update() {
  const id = ++state.request;
  let body;
  try {
    body = config();
    const data = await api("/api/convolve", body);
    if (id !== state.request) return;
    showError("");
    markBadCell("");
    state.data = data; state.body = body;
    const out = data.output_shape;
    if (state.pinned && (state.pinned[0] >= out[0] || state.pinned[1] >= out[1])) state.pinned = null;
    render();
    const at = state.pinned || state.hovered;
    if (at && at[0] < out[0] && at[1] < out[1]) explainAt(at); else clearExplanation();
  } catch (error) {
    if (id !== state.request) return;
    showError(error.message);
    markBadCell(error.message);
  }
}

// The server names a kernel cell that is not a number: "kernel cell (row 1, column 2) ...".
function markBadCell(message) {
  document.querySelectorAll(".kcell.bad").forEach((cell) => cell.classList.remove("bad"));
  const found = /kernel cell \(row (\d+), column (\d+)\)/.exec(message || "");
  if (!found) return;
  const cell = document.querySelector(".kcell[data-r='" + found[1] + "'][data-c='" + found[2] + "']");
  if (cell) cell.classList.add("bad");
}

function render(position) {
  const d = state.data;
  $("header").textContent = d.header;
  $("formula").textContent = d.formula;
  $("steps").textContent = d.steps.join("\n");
  $("image-note").textContent = d.image;
  if ($("kernel-name").value !== "custom") buildKernelGrid(d.kernel, false);
  $("kernel-caption").textContent = "kernel K: " + d.kernel_shape.join("x") +
    (d.convolve ? " (flipped as it slides)" : "");
  const [ph, pw] = d.padded_shape, [oh, ow] = d.output_shape;
  const box = 400;
  const si = fitScale(ph, pw, box, d.numbers), so = fitScale(oh, ow, box, d.numbers);
  state.scale = { input: si, output: so };
  const field = position ? fieldCells(position) : null;
  const ictx = drawMatrix($("input-canvas"), d.padded_pixels, d.numbers ? d.padded : null, si,
                          field ? (r, c) => (field.has(r + "," + c) ? COLOURS.field : null) : null,
                          d.is_padding);
  if (position) {
    outline(ictx, position.rows[0], position.cols[0], position.rows[1], position.cols[1], si, COLOURS.edge);
  }
  const [[top, bottom], [left, right]] = d.padding;
  $("input-caption").textContent = top + bottom + left + right
    ? "padded input " + d.padded_shape.join("x") + " = image " + d.input_shape.join("x") +
      " + padding top " + top + ", bottom " + bottom + ", left " + left + ", right " + right +
      " (" + d.padding_mode + ")"
    : "input I: " + d.input_shape.join("x");
  const octx = drawMatrix($("output-canvas"), d.output_pixels, d.numbers ? d.output : null, so,
                          position ? (r, c) => (r === position.at[0] && c === position.at[1]
                                                ? COLOURS.field : null) : null, null);
  if (position) outline(octx, position.at[0], position.at[1], position.at[0] + 1, position.at[1] + 1, so, COLOURS.edge);
  $("output-caption").textContent = "output V: " + oh + "x" + ow;
  $("output-note").textContent = "values " + d.output_range[0] + " .. " + d.output_range[1] +
    "; greys: " + (d.output_display === "rescale" ? "minimum black, maximum white"
                   : "clipped to 0..255 (" + d.clipped + " values outside)");
}

function fieldCells(position) {
  const cells = new Set();
  for (let r = position.rows[0]; r < position.rows[1]; r += position.rows[2]) {
    for (let c = position.cols[0]; c < position.cols[1]; c += position.cols[2]) cells.add(r + "," + c);
  }
  return cells;
}

function clearExplanation() {
  $("position-title").textContent = "Hover over an output pixel, or click one to keep it";
  $("products").innerHTML = ""; $("row-sums").textContent = ""; $("sum").textContent = "";
  $("explain-text").textContent = state.data && state.data.text ? state.data.text : "";
}

async function explainAt(at) {
  const id = ++state.request;
  try {
    const p = await api("/api/position", Object.assign({}, state.body, { at: at }));
    if (id !== state.request) return;
    showError("");
    render(p);
    $("position-title").textContent = "V(" + p.at[0] + ", " + p.at[1] + ") = " + p.value +
      (state.pinned ? "   (kept: click it again to let go)" : "");
    const table = $("products");
    table.innerHTML = "";
    p.products.forEach((row, m) => {
      const tr = document.createElement("tr");
      row.forEach((product, n) => {
        const td = document.createElement("td");
        if (p.field_is_padding[m][n]) td.className = "padding";
        const field = p.field_is_padding[m][n] ? "(" + p.field[m][n] + ")" : p.field[m][n];
        td.dataset.product = product;
        td.innerHTML = "<div>" + field + " × " + signed(p.kernel[m][n]) + "</div><div class=product>= " +
          product + "</div>";
        tr.appendChild(td);
      });
      const sum = document.createElement("td");
      sum.className = "rowsum"; sum.textContent = "row " + m + ": " + p.row_sums[m];
      tr.appendChild(sum);
      table.appendChild(tr);
    });
    $("row-sums").textContent = p.row_sums.length > 1 ? "sum of the rows: " + p.row_sums.map(signed).join(" + ") : "";
    $("sum").textContent = "V(" + p.at[0] + ", " + p.at[1] + ") = " + p.sum;
    $("sum").dataset.sum = p.sum;
    $("explain-text").textContent = p.lines.join("\n");
  } catch (error) {
    if (id !== state.request) return;
    showError(error.message);
  }
}

function outputCell(event) {
  const canvas = $("output-canvas"), rect = canvas.getBoundingClientRect();
  const d = state.data;
  if (!d) return null;
  const c = Math.floor((event.clientX - rect.left) * (canvas.width / rect.width) / state.scale.output);
  const r = Math.floor((event.clientY - rect.top) * (canvas.height / rect.height) / state.scale.output);
  if (r < 0 || c < 0 || r >= d.output_shape[0] || c >= d.output_shape[1]) return null;
  return [r, c];
}

let hoverTimer = null;
function onHover(event) {
  if (state.pinned) return;
  const at = outputCell(event);
  if (!at || (state.hovered && at[0] === state.hovered[0] && at[1] === state.hovered[1])) return;
  state.hovered = at;
  clearTimeout(hoverTimer);
  hoverTimer = setTimeout(() => explainAt(at), 40);
}

function onClick(event) {
  const at = outputCell(event);
  if (!at) return;
  clearTimeout(hoverTimer);  // a hover's pending request must not replace the clicked pixel
  if (state.pinned && at[0] === state.pinned[0] && at[1] === state.pinned[1]) {
    state.pinned = null;
  } else {
    state.pinned = at;
  }
  state.hovered = at;
  explainAt(at);
}

async function onUpload() {
  const file = $("upload-file").files[0];
  if (!file) return;
  if (file.size > state.catalogue.max_upload_bytes) {
    // the server refuses it too (413); saying so here saves sending it
    showError("the file has " + file.size.toLocaleString() + " bytes; the explorer accepts at most " +
              state.catalogue.max_upload_bytes.toLocaleString());
    return;
  }
  const form = new FormData();
  form.append("image", file, file.name);
  try {
    state.upload = await api("/api/upload", undefined, form);
    showError("");
    $("image-note").textContent = state.upload.note;
    state.pinned = null;
    update();
  } catch (error) {
    state.upload = null;
    showError(error.message);
  }
}

async function startPlayground() {
  state.catalogue = await api("/api/catalogue");
  const names = $("kernel-name");
  state.catalogue.kernels.forEach((k) => {
    const option = document.createElement("option");
    option.value = k.name; option.textContent = k.name;
    names.appendChild(option);
  });
  const custom = document.createElement("option");
  custom.value = "custom"; custom.textContent = "custom (edit the cells)";
  names.appendChild(custom);
  names.value = "horizontal-edge";
  state.catalogue.padding_modes.forEach((m) => {
    const option = document.createElement("option");
    option.value = option.textContent = m;
    $("padding-mode").appendChild(option);
  });
  $("image-kind").addEventListener("change", () => {
    imageControls(); state.pinned = null;
    if ($("image-kind").value === "upload" && !state.upload) { $("upload-file").click(); return; }
    schedule();
  });
  $("kernel-name").addEventListener("change", () => {
    kernelControls();
    if ($("kernel-name").value === "custom") { buildKernelGrid(state.kernelCells, true); }
    schedule();
  });
  ["kernel-rows", "kernel-cols"].forEach((id) => $(id).addEventListener("change", resizeKernel));
  $("padding").addEventListener("change", () => {
    $("explicit-padding").hidden = $("padding").value !== "explicit"; schedule();
  });
  ["matrix-text", "digit-index", "kernel-size", "kernel-sigma", "padding-mode", "pad-top",
   "pad-bottom", "pad-left", "pad-right", "stride-rows", "stride-cols", "dilation-rows",
   "dilation-cols", "convolve", "display"].forEach((id) => {
    $(id).addEventListener("input", schedule);
    $(id).addEventListener("change", schedule);
  });
  $("upload-file").addEventListener("change", onUpload);
  $("output-canvas").addEventListener("mousemove", onHover);
  $("output-canvas").addEventListener("click", onClick);
  kernelControls(); imageControls();
  await update();
}

// ---- the network ------------------------------------------------------------------------------

const net = { summary: null, digit: null, field: null, chosen: null };

function greys(values, low, high) {
  const span = high > low ? high - low : 1;
  return values.map((row) => row.map((v) => Math.round(255 * (v - low) / span)));
}

function drawDigit() {
  const canvas = $("digit-canvas"), d = net.digit;
  if (!d) return;
  const ctx = drawMatrix(canvas, d.image, null, 8, net.field ? (r, c) => {
    const count = net.field.counts[r][c];
    return count ? "rgba(255, 140, 0, " + (0.15 + 0.4 * count / net.maxCount).toFixed(3) + ")" : null;
  } : null, null);
  if (net.field) {
    const [r0, c0, r1, c1] = net.field.box;
    outline(ctx, r0, c0, r1 + 1, c1 + 1, 8, "#1f8fff");
  }
}

function renderNetwork() {
  const d = net.digit;
  $("net-digit-caption").textContent = "#" + d.index + " (a " + d.label + "), predicted " + d.predicted;
  drawDigit();
  const box = $("probabilities");
  box.innerHTML = "";
  d.probabilities.forEach((p, k) => {
    const bar = document.createElement("div");
    bar.className = "bar" + (k === d.predicted ? " top" : "");
    bar.innerHTML = "<span>" + k + "</span><span class=fill style='width:" + Math.round(180 * p) +
      "px'></span><span>" + (100 * p).toFixed(2) + "%</span>";
    box.appendChild(bar);
  });
  const layers = $("layers");
  layers.innerHTML = "";
  d.layers.forEach((layer) => {
    const div = document.createElement("div");
    div.className = "layer";
    const [h, w, channels] = layer.shape;
    div.innerHTML = "<h3>" + layer.name + " (" + layer.type + "): " + h + "x" + w + "x" + channels + "</h3>";
    const maps = document.createElement("div");
    maps.className = "maps";
    const scale = Math.max(3, Math.floor(56 / h));
    layer.maps.forEach((values, f) => {
      const canvas = document.createElement("canvas");
      canvas.title = layer.name + " map " + f + ": " + layer.low[f] + " .. " + layer.high[f];
      canvas.dataset.layer = layer.index; canvas.dataset.map = f;
      canvas.redraw = () => drawMatrix(canvas, greys(values, parseFloat(layer.low[f]),
                                                     parseFloat(layer.high[f])), null, scale, null, null);
      canvas.redraw();
      canvas.addEventListener("click", (event) => chooseMapPixel(event, canvas, layer, f, scale));
      maps.appendChild(canvas);
    });
    div.appendChild(maps);
    layers.appendChild(div);
  });
}

async function chooseMapPixel(event, canvas, layer, f, scale) {
  const rect = canvas.getBoundingClientRect();
  const c = Math.floor((event.clientX - rect.left) * (canvas.width / rect.width) / scale);
  const r = Math.floor((event.clientY - rect.top) * (canvas.height / rect.height) / scale);
  try {
    net.field = await api("/api/network/receptive-field", { layer: layer.index, row: r, col: c });
    showError("");
    net.maxCount = Math.max(...net.field.counts.map((row) => Math.max(...row)));
    document.querySelectorAll(".maps canvas.chosen").forEach((x) => {
      x.classList.remove("chosen"); x.redraw();
    });
    canvas.classList.add("chosen");
    outline(canvas.getContext("2d"), r, c, r + 1, c + 1, scale, "#1f8fff");
    const [r0, c0, r1, c1] = net.field.box;
    $("field-info").textContent = layer.name + " map " + f + ", pixel (" + r + ", " + c +
      ") = " + layer.maps[f][r][c] + ": its receptive field is input rows " + r0 + ".." + r1 +
      ", columns " + c0 + ".." + c1 + " (" + net.field.size.join("x") + " pixels; shade = number of paths)";
    $("field-stack").textContent = net.field.stack.join("\n");
    drawDigit();
  } catch (error) {
    showError(error.message);
  }
}

async function loadDigit() {
  const index = 500 * parseInt($("net-class").value, 10) + (parseInt($("net-sample").value, 10) || 0);
  try {
    net.digit = await api("/api/network/digit", { index: index });
    net.field = null;
    $("field-info").textContent = ""; $("field-stack").textContent = "";
    showError("");
    renderNetwork();
  } catch (error) {
    showError(error.message);
  }
}

function renderFilters() {
  const s = net.summary, box = $("filters");
  box.innerHTML = "";
  const all = s.filters.flatMap((f) => f.values.flat().map(parseFloat));
  const bound = Math.max(...all.map(Math.abs)) || 1;
  $("filters-caption").textContent = s.filters_layer + ": " + s.filters.length + " learned filters " +
    s.filters[0].values.length + "x" + s.filters[0].values[0].length + " (grey 0, white +" +
    bound.toFixed(3) + ", black -" + bound.toFixed(3) + ")";
  s.filters.forEach((f, i) => {
    const canvas = document.createElement("canvas");
    canvas.title = "filter " + i + " (bias " + f.bias + "): click to try it in the playground";
    const values = f.values.map((row) => row.map(parseFloat));
    drawMatrix(canvas, greys(values, -bound, bound), null, 12, null, null);
    canvas.addEventListener("click", () => useFilter(f, i));
    box.appendChild(canvas);
  });
}

function useFilter(filter, i) {
  $("kernel-name").value = "custom";
  buildKernelGrid(filter.values, true);
  kernelControls();
  $("kernel-description").textContent = "filter " + i + " of " + net.summary.filters_layer +
    " (bias " + filter.bias + "): the network sees the digit / 255, so its map " + i +
    " is max(0, V / 255 + bias)";
  $("image-kind").value = "digit"; imageControls();
  $("digit-index").value = net.digit ? net.digit.index : 0;
  $("padding").value = "same"; $("explicit-padding").hidden = true;
  $("stride-rows").value = $("stride-cols").value = 2;
  showView("playground");
  schedule();
}

async function startNetwork() {
  for (let k = 0; k < 10; k++) {
    const option = document.createElement("option");
    option.value = option.textContent = k;
    $("net-class").appendChild(option);
  }
  $("net-class").value = 7;
  $("net-class").addEventListener("change", loadDigit);
  $("net-sample").addEventListener("change", loadDigit);
  $("net-next").addEventListener("click", () => {
    $("net-sample").value = ((parseInt($("net-sample").value, 10) || 0) + 1) % 500;
    loadDigit();
  });
  $("train-button").addEventListener("click", async () => {
    $("train-button").disabled = true;
    $("net-status").textContent = "training…";
    try {
      net.summary = await api("/api/network/train", { epochs: 2 });
      showError("");
      showSummary();
    } catch (error) {
      showError(error.message);
    } finally {
      $("train-button").disabled = false;
    }
  });
  net.summary = await api("/api/network");
  showSummary();
}

function showSummary() {
  const s = net.summary;
  if (!s.available) {
    $("net-status").textContent = s.message;
    return;
  }
  $("net-status").textContent = "the lecture's network (" + s.parameters.toLocaleString() +
    " parameters), " + s.source;
  renderFilters();
  loadDigit();
}

function showView(name) {
  document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== name; });
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.dataset.view === name));
}

document.querySelectorAll(".tab").forEach((t) => t.addEventListener("click", () => showView(t.dataset.view)));
startPlayground().catch((error) => showError(error.message));
startNetwork().catch((error) => showError(error.message));
