// The layer's numbers, computed in the page by the formulas onebyone computes them with.
// Each function says which Python function of onebyone.explanation it mirrors ("mirrors
// module.function"; a test checks those exist) and returns the field names of the dataclass
// it fills (onebyone.explanation.facts), so a test compares page and library 1:1.
"use strict";

const prod = (a) => a.reduce((x, y) => x * y, 1); // Python's math.prod
const range = (n) => Array.from({ length: n }, (_, i) => i); // Python's range(n), as a list

// mirrors compute.layer: check the configuration, work out the output size.
function layer(batch, inC, outC, inputSize, kernel, stride, padding, groups, bias) {
  if (inC % groups || outC % groups) {
    throw new Error(`groups=${groups} must divide both the input channels (${inC}) and the ` +
      `filters (${outC}); got remainders ${inC % groups} and ${outC % groups}`);
  }
  const padded = inputSize.map((n, a) => n + 2 * padding[a]);
  if (kernel.some((k, a) => k > padded[a])) {
    throw new Error(`kernel ${kernel.join("x")} is larger than the input ` +
      `${inputSize.join("x")} padded by ${padding.join("x")} (${padded.join("x")}); ` +
      "expected a kernel that fits, or more padding");
  }
  const outputSize = padded.map((n, a) => Math.floor((n - kernel[a]) / stride[a]) + 1);
  return {
    dims: inputSize.length, batch, in_channels: inC, out_channels: outC,
    input_size: inputSize, kernel, stride, padding, groups, bias, output_size: outputSize,
    input_shape_nchw: [batch, inC, ...inputSize], output_shape_nchw: [batch, outC, ...outputSize],
  };
}

// mirrors compute.weights
function weights(L) {
  const cinG = L.in_channels / L.groups, k = prod(L.kernel);
  const kernels = L.out_channels * cinG, without = kernels * k;
  return {
    pytorch_shape: [L.out_channels, cinG, ...L.kernel],
    keras_shape: [...L.kernel, cinG, L.out_channels],
    filters: L.out_channels, filter_shape: [...L.kernel, cinG], kernels, kernel_shape: L.kernel,
    params_without_bias: without, bias_params: L.out_channels,
    params_with_bias: without + L.out_channels, params: without + (L.bias ? L.out_channels : 0),
  };
}

// mirrors compute.cost
function cost(L) {
  const outputs = prod(L.output_shape_nchw);
  const macs = outputs * (L.in_channels / L.groups) * prod(L.kernel);
  return { output_elements: outputs, macs, flops: 2 * macs, bias_adds: L.bias ? outputs : 0 };
}

// mirrors compute.matrix_view: the GEMM shapes, channels-last (pixels as rows) and channels-first.
function matrixView(L) {
  const g = L.groups, k = prod(L.kernel);
  const cinG = L.in_channels / g, coutG = L.out_channels / g;
  const pixels = prod(L.output_size), rows = L.batch * pixels, depth = cinG * k;
  const identity = k === 1 && L.stride.every((s) => s === 1) && !L.padding.some((p) => p);
  return {
    channels_last: { left: [rows, depth], right: [depth, coutG], result: [rows, coutG], count: g },
    channels_first: { left: [coutG, depth], right: [depth, pixels], result: [coutG, pixels],
                      count: L.batch * g },
    im2col_shape: [rows, depth], im2col_elements: rows * depth * g,
    input_elements: prod(L.input_shape_nchw), im2col_is_identity: identity,
  };
}

// mirrors compute._taps_axis: (output position, tap) pairs along one axis that land on real input.
function tapsAxis(n, k, s, p) {
  const last = Math.floor((n + 2 * p - k) / s);
  let total = 0;
  for (let t = 0; t < k; t++) {
    const first = Math.max(0, -Math.floor((t - p) / s));
    const stop = Math.min(last, Math.floor((n - 1 + p - t) / s));
    total += Math.max(0, stop - first + 1);
  }
  return total;
}

// mirrors compute._read_axis: input positions along one axis that some (output, tap) pair reads.
function readAxis(n, k, s, p) {
  if (k <= s) return tapsAxis(n, k, s, p);
  const last = Math.floor((n + 2 * p - k) / s);
  return Math.max(0, Math.min(n - 1, last * s + k - 1 - p) - Math.max(0, -p) + 1);
}

// mirrors compute.taps_on_input: a product over the axes.
function tapsOnInput(L) {
  return prod(L.input_size.map((n, a) => tapsAxis(n, L.kernel[a], L.stride[a], L.padding[a])));
}
// mirrors compute.pixels_read: a product over the axes.
function pixelsRead(L) {
  return prod(L.input_size.map((n, a) => readAxis(n, L.kernel[a], L.stride[a], L.padding[a])));
}

// mirrors compute.whole_image: the layer as one matrix on a flattened image, and its non-zeros.
function wholeImage(L) {
  const shape = [L.out_channels * prod(L.output_size), L.in_channels * prod(L.input_size)];
  const entries = shape[0] * shape[1];
  const nonzeros = L.out_channels * (L.in_channels / L.groups) * tapsOnInput(L);
  return { shape, entries, nonzeros, block_shape: [prod(L.output_size), prod(L.input_size)] };
}

// mirrors from_layer: every fact above, keyed as Explanation.as_dict() keys them.
function allFacts(L) {
  return { layer: L, weights: weights(L), cost: cost(L), matrix: matrixView(L),
           whole_image: wholeImage(L), pixels_read: pixelsRead(L) };
}
