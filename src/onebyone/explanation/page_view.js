// The page's drawings and what a click does. Numbers come from page_formulas.js (the library's
// formulas) and the example values below (twins of onebyone.explanation.page's functions).
"use strict";

const DATA = JSON.parse(document.getElementById("onebyone-data").textContent);
const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg"; // a namespace name, never fetched
const FIELDS = ["batch", "height", "width", "in_channels", "out_channels", "groups", "stride",
                "padding"];
// The most the page draws; beyond these its drawings and exact integers would not keep up.
const LIMITS = { batch: 4096, height: 256, width: 256, in_channels: 4096, out_channels: 4096,
                 stride: 256, padding: 256 };
const COPIES = 16; // scaled copies drawn for one input channel
let L = null;
const sel = { i: 0, j: 0, o: 0 };

// page_values.py: mix, input_value, weight_value, bias_value, photo_value
function mix(key) {
  let h = key >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
const inputValue = (c, i, j) => (mix(c * 1000003 + i * 1009 + j + 17) % 7) - 3;
const WEIGHTS = [-3, -2, -1, 1, 2, 3];
const weightValue = (o, c) => WEIGHTS[mix(o * 7919 + c * 31 + 5) % 6];
const biasValue = (o) => (mix(o * 104729 + 3) % 5) - 2;
const photoValue = (i, j, h, w) =>
  DATA.photo[Math.floor((i * DATA.photo.length) / h)][Math.floor((j * DATA.photo.length) / w)];

// x[c, i, j] of the example, 0 in the zero padding around the image.
function xValue(c, i, j) {
  const [h, w] = L.input_size;
  if (i < 0 || j < 0 || i >= h || j >= w) return 0;
  return L.in_channels === 1 ? photoValue(i, j, h, w) : inputValue(c, i, j);
}

// One output value written out: the input column of o's group at the pixel it reads, times
// the filter o, plus the bias (the fields of facts.DotProduct).
function dotProduct(o, i, j) {
  const cinG = L.in_channels / L.groups, coutG = L.out_channels / L.groups;
  const first = Math.floor(o / coutG) * cinG;
  const at = [i * L.stride[0] - L.padding[0], j * L.stride[1] - L.padding[1]];
  const terms = range(cinG).map((c) => [weightValue(o, c), xValue(first + c, at[0], at[1])]);
  const bias = L.bias ? biasValue(o) : 0;
  const sum = terms.reduce((s, [w, x]) => s + w * x, 0);
  return { pixel: [i, j], out_channel: o, input_pixel: at, first_channel: first, terms, bias,
           value: sum + bias, sum };
}

const signed = (v) => (v < 0 ? `(${v})` : `${v}`);
function dotText(d) {
  const n = d.terms.length, shown = (t) => `${signed(t[0])}·${signed(t[1])}`;
  const parts = n <= 8 ? d.terms.map(shown)
    : [...d.terms.slice(0, 4).map(shown), "…", ...d.terms.slice(-2).map(shown)];
  const where = d.input_pixel.some((v, a) => v < 0 || v >= L.input_size[a])
    ? "a padding pixel (zeros)" : `input pixel (${d.input_pixel.join(", ")})`;
  const last = d.first_channel + n - 1;
  return `y[${d.out_channel}] at output (${d.pixel.join(", ")}) reads ${where}, ` +
    `channels ${d.first_channel}..${last}:\n  ${parts.join(" + ")}` +
    (n > 8 ? `\n  = ${d.sum} (the ${n} products)` : ` = ${d.sum}`) +
    (L.bias ? ` + bias ${signed(d.bias)} = ${d.value}` : " (no bias)");
}

// Colours: values in [-m, m] from blue through white to red; photo levels 0..9 as greys.
function diverging(v, m) {
  const t = Math.max(-1, Math.min(1, v / (m || 1))), a = Math.round(255 * (1 - Math.abs(t)));
  return t < 0 ? `rgb(${a},${a},255)` : `rgb(255,${a},${a})`;
}
const grey = (v) => `rgb(${Math.round(v * 28.3)},${Math.round(v * 28.3)},${Math.round(v * 28.3)})`;

function cellSize(rows, cols, room) {
  return Math.max(1, Math.min(20, Math.floor(room / Math.max(rows, cols))));
}

// The padded input grid: the channel shown is the first one o's filter reads.
function drawInput(d) {
  const [h, w] = L.input_size, [ph, pw] = L.padding, cs = cellSize(h + 2 * ph, w + 2 * pw, 260);
  const canvas = $("in-grid"), ctx = canvas.getContext("2d");
  canvas.width = (w + 2 * pw) * cs; canvas.height = (h + 2 * ph) * cs;
  for (let r = -ph; r < h + ph; r++) {
    for (let c = -pw; c < w + pw; c++) {
      const real = r >= 0 && c >= 0 && r < h && c < w;
      const v = xValue(d.first_channel, r, c);
      ctx.fillStyle = !real ? "#e8e8e8" : L.in_channels === 1 ? grey(v) : diverging(v, 3);
      ctx.globalAlpha = real && !isRead(r, 0) || real && !isRead(c, 1) ? 0.25 : 1;
      ctx.fillRect((c + pw) * cs, (r + ph) * cs, cs, cs);
    }
  }
  ctx.globalAlpha = 1;
  outline(ctx, (d.input_pixel[1] + pw) * cs, (d.input_pixel[0] + ph) * cs, cs);
  $("in-cap").textContent = `input ${h}x${w}x${L.in_channels}` +
    (ph || pw ? ` (+ padding ${ph})` : "") +
    `; showing channel ${d.first_channel}, faded pixels are never read`;
}

// Input position r along axis a is read by some output when it lands on the stride's grid.
function isRead(r, a) {
  const q = r + L.padding[a];
  return q % L.stride[a] === 0 && q / L.stride[a] < L.output_size[a];
}

function outline(ctx, x, y, cs) {
  ctx.strokeStyle = "#d62728"; ctx.lineWidth = Math.max(2, cs / 6);
  ctx.strokeRect(x + 1, y + 1, Math.max(cs - 2, 3), Math.max(cs - 2, 3));
}

// The output grid coloured by channel o (on its own largest value), when that is cheap enough
// to recompute on every pointer move.
function drawOutput() {
  const [h, w] = L.output_size, cs = cellSize(h, w, 260);
  const canvas = $("out-grid"), ctx = canvas.getContext("2d");
  canvas.width = w * cs; canvas.height = h * cs;
  const cheap = h * w * (L.in_channels / L.groups) <= 2e6;
  const values = range(h).map((r) => range(w).map((c) => (cheap ? dotProduct(sel.o, r, c).value
    : 0)));
  const m = Math.max(1, ...values.flat().map(Math.abs));
  values.forEach((row, r) => row.forEach((v, c) => {
    ctx.fillStyle = cheap ? diverging(v, m) : "#a1d99b";
    ctx.fillRect(c * cs, r * cs, cs, cs);
  }));
  outline(ctx, sel.j * cs, sel.i * cs, cs);
  canvas.dataset.cell = cs;
  $("out-cap").textContent = `output ${h}x${w}x${L.out_channels}, channel ${sel.o}: ` +
    "click or hover a pixel";
}

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// Input column, filter and output column as bars on ONE scale: 192 channels are 6x as tall
// as 32. Each channel is a cell coloured by its value when a cell is at least a pixel tall.
// Returns the scale, which the state reports.
function drawColumns(d) {
  const svg = $("columns"), cinG = d.terms.length, o = d.out_channel;
  const unit = Math.min(4, 320 / Math.max(L.in_channels, L.out_channels)), top = 34;
  const inColour = (c) => (L.in_channels === 1 ? grey(xValue(c, ...d.input_pixel))
    : diverging(xValue(c, ...d.input_pixel), 3));
  const bars = [  // id, title, channels, first channel, colour of channel c, faded channel c
    ["col-in", "input column", L.in_channels, 0, inColour,
     (c) => c < d.first_channel || c >= d.first_channel + cinG],
    ["col-w", `filter ${o}`, cinG, d.first_channel,
     (c) => diverging(weightValue(o, c - d.first_channel), 3), () => false],
    ["col-out", "output column", L.out_channels, 0,
     (c) => diverging(dotProduct(c, sel.i, sel.j).value, 3 * cinG), () => false],
  ];
  svg.replaceChildren();
  bars.forEach(([id, title, n, from, colour, faded], b) => {
    const x = 20 + b * 110, g = svg.appendChild(svgEl("g", { id }));
    g.appendChild(svgEl("rect", { x, y: top + from * unit, width: 40, height: n * unit,
                                  fill: "#fff", stroke: "#222", class: "bar" }));
    for (let c = from; unit >= 1 && c < from + n; c++) {
      g.appendChild(svgEl("rect", { x: x + 1, y: top + c * unit, width: 38, height: unit,
                                    fill: colour(c), opacity: faded(c) ? 0.2 : 1,
                                    "data-channel": c }));
    }
    g.appendChild(svgEl("text", { x: x + 20, y: 12, "text-anchor": "middle" }, title));
    g.appendChild(svgEl("text", { x: x + 20, y: 27, "text-anchor": "middle" }, `${n} channel${n === 1 ? "" : "s"}`));
  });
  svg.appendChild(svgEl("rect", { x: 237, y: top + o * unit, width: 46, height: Math.max(unit, 2),
                                  fill: "none", stroke: "#d62728", "stroke-width": 2 }));
  const sign = { "text-anchor": "middle", style: "font-size: 22px" };
  svg.appendChild(svgEl("text", { x: 95, y: top + 14, ...sign }, "·"));
  svg.appendChild(svgEl("text", { x: 205, y: top + 14, ...sign }, "→"));
  const tall = top + Math.max(L.in_channels, L.out_channels) * unit;
  svg.appendChild(svgEl("text", { x: 10, y: tall + 18 },
                        `to scale: 1 channel = ${+unit.toFixed(3)} px`));
  svg.setAttribute("height", tall + 26);
  Object.assign(svg.dataset, { top, unit });
  return unit;
}
