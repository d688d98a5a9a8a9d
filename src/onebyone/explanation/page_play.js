// What the reader does: change a size, click or hover a pixel or a channel; everything redraws
// from the formulas, and <pre id="state"> records the numbers shown (tests read it).
"use strict";

const shape = (t) => `(${t.join(", ")})`;
const num = (n) => n.toLocaleString("en-US");
const product = (p) => `${shape(p.left)} @ ${shape(p.right)} -> ${shape(p.result)}` +
  (p.count > 1 ? ` x ${num(p.count)}` : "");

function liveRows(f) {
  const { layer: l, weights: w, cost: c, matrix: m, whole_image: wi } = f;
  const [h, wd] = l.input_size, [s] = l.stride, [p] = l.padding;
  return [
    ["output size", `(${h} + 2·${p} − 1) // ${s} + 1 = ${l.output_size[0]}, ` +
                    `(${wd} + 2·${p} − 1) // ${s} + 1 = ${l.output_size[1]}`],
    ["torch shapes", `${shape(l.input_shape_nchw)} -> ${shape(l.output_shape_nchw)}`],
    ["PyTorch weight (O, I/groups, kh, kw)", shape(w.pytorch_shape)],
    ["Keras kernel (kh, kw, I/groups, O)", shape(w.keras_shape)],
    ["filters", `${num(w.filters)}, each ${w.filter_shape.join("x")}`],
    ["kernels", `${num(w.kernels)} of 1x1 (filters x input channels/groups)`],
    ["parameters", `${num(w.params_without_bias)} without bias, ${num(w.params_with_bias)} with ` +
                   `bias (this layer: ${num(w.params)})`],
    ["multiply-adds (MACs)", num(c.macs)],
    ["FLOPs", `${num(c.flops)} = 2 x MACs`],
    ["channels-last GEMM", product(m.channels_last)],
    ["channels-first GEMM", product(m.channels_first)],
    ["whole-image matrix",
     `${shape(wi.shape)}, ${num(wi.nonzeros)} non-zeros of ${num(wi.entries)}`],
    ["input pixels read", `${num(f.pixels_read)} of ${num(h * wd)}`],
  ];
}

function fillTable(rows) {
  $("live").replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement("tr");
    for (const text of [k, v]) tr.appendChild(document.createElement("td")).textContent = text;
    return tr;
  }));
}

// One input channel: the photograph and its first Cout output channels, each w[o]·x + b[o]
// on one shared colour scale, so they read as the same picture scaled (negative w inverts it).
function drawCopies() {
  const box = $("copies");
  box.replaceChildren();
  if (L.in_channels !== 1) {
    const button = box.appendChild(document.createElement("button"));
    button.textContent = "Try one input channel: a photograph and its scaled copies";
    button.onclick = () => { setField("in_channels", 1); setField("groups", 1); update(); };
    return [];
  }
  const [h, w] = L.output_size, n = Math.min(L.out_channels, COPIES), cs = cellSize(h, w, 84);
  const copies = range(n).map((o) => ({
    o, weight: weightValue(o, 0), bias: L.bias ? biasValue(o) : 0,
    values: range(h).map((i) => range(w).map((j) => dotProduct(o, i, j).value)) }));
  const m = Math.max(1, ...copies.map((k) => Math.max(...k.values.flat().map(Math.abs))));
  const figures = [["input x", null],
                   ...copies.map((k) => [`${signed(k.weight)}·x + ${signed(k.bias)}`, k])];
  for (const [caption, k] of figures) {
    const fig = box.appendChild(document.createElement("figure"));
    const canvas = fig.appendChild(document.createElement("canvas"));
    const [rows, cols] = k ? [h, w] : L.input_size, size = k ? cs : cellSize(rows, cols, 84);
    canvas.width = cols * size; canvas.height = rows * size;
    const ctx = canvas.getContext("2d");
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        ctx.fillStyle = k ? diverging(k.values[i][j], m) : grey(xValue(0, i, j));
        ctx.fillRect(j * size, i * size, size, size);
      }
    }
    fig.appendChild(document.createElement("figcaption")).textContent = caption;
  }
  if (L.out_channels > n) {
    box.appendChild(document.createElement("p")).textContent = `… and ${L.out_channels - n} more`;
  }
  return copies;
}

function setField(name, value) { $(`in-${name}`).value = value; }

function readLayer() {
  const v = {};
  for (const name of FIELDS) {
    const raw = $(`in-${name}`).value, n = Number(raw), low = name === "padding" ? 0 : 1;
    if (!Number.isInteger(n) || n < low) {
      throw new Error(`${name} must be an integer ≥ ${low}; got '${raw}'`);
    }
    if (n > (LIMITS[name] || Infinity)) {
      throw new Error(`the page draws ${name} up to ${LIMITS[name]}; got ${n} (the tables ` +
                      "below are exact for any size)");
    }
    v[name] = n;
  }
  return layer(v.batch, v.in_channels, v.out_channels, [v.height, v.width], [1, 1],
               [v.stride, v.stride], [v.padding, v.padding], v.groups, $("in-bias").checked);
}

function update() {
  let f;
  try {
    L = readLayer();
    f = allFacts(L);
  } catch (err) {
    $("error").textContent = err.message;
    $("state").textContent = JSON.stringify({ error: err.message });
    return;
  }
  $("error").textContent = "";
  sel.i = Math.min(sel.i, L.output_size[0] - 1); sel.j = Math.min(sel.j, L.output_size[1] - 1);
  sel.o = Math.min(sel.o, L.out_channels - 1);
  const d = dotProduct(sel.o, sel.i, sel.j);
  drawInput(d); drawOutput();
  const unit = drawColumns(d);
  $("dot").textContent = dotText(d);
  fillTable(liveRows(f));
  const copies = drawCopies();
  const column = range(L.out_channels).map((o) => dotProduct(o, sel.i, sel.j).value);
  $("state").textContent = JSON.stringify({ facts: f, dot: d, column, copies, unit,
                                            dot_text: $("dot").textContent, table: liveRows(f) });
}

function select(i, j, o) {
  Object.assign(sel, { i, j }, o === undefined ? {} : { o });
  update();
}

// A pointer on the output grid picks a pixel; on the output column, a channel.
function onGrid(event) {
  const cs = Number($("out-grid").dataset.cell);
  const i = Math.floor(event.offsetY / cs), j = Math.floor(event.offsetX / cs);
  if (L && i >= 0 && j >= 0 && i < L.output_size[0] && j < L.output_size[1]) select(i, j);
}
function onColumn(event) {  // by position, so it works when channels are under a pixel tall
  const svg = $("columns"), box = svg.getBoundingClientRect();
  const x = event.clientX - box.left, y = event.clientY - box.top;
  const o = Math.floor((y - Number(svg.dataset.top)) / Number(svg.dataset.unit));
  if (L && x >= 240 && x <= 280 && o >= 0 && o < L.out_channels) select(sel.i, sel.j, o);
}

// The layer's own sizes, or the largest the page draws; a note says when they differ.
const clamped = FIELDS.filter((name) => DATA.layer[name] > (LIMITS[name] || Infinity));
for (const name of FIELDS) {
  const field = $(`in-${name}`);
  field.value = Math.min(DATA.layer[name], LIMITS[name] || Infinity);
  field.addEventListener("input", update);
}
$("clamped").textContent = clamped.length ? `The page starts at ${clamped.map((n) =>
  `${n} ${LIMITS[n]} (yours: ${DATA.layer[n]})`).join(", ")}, the most it draws.` : "";
$("in-bias").checked = DATA.layer.bias;
$("in-bias").addEventListener("change", update);
$("out-grid").addEventListener("click", onGrid);
$("out-grid").addEventListener("mousemove", onGrid);
$("columns").addEventListener("click", onColumn);
$("play-area").hidden = false;  // hidden until the script runs: no empty boxes without it
update();
window.onebyoneReady = true;
