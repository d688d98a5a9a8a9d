"""The explanation as plain data: a tree of frozen dataclasses, computed once by compute.py.

Renderers (text.py, page.py) read these fields and format them; they compute nothing.
Shapes are tuples of ints; sizes in bytes assume float32 (4 bytes), as stated in Roofline.
`as_dict()` gives the JSON form documented in docs/explain.md.
"""
from dataclasses import asdict, dataclass
from typing import Optional


@dataclass(frozen=True)
class Layer:
    """The convolution being explained, normalised: one int per spatial axis."""

    dims: int  # 1, 2 or 3 spatial axes: Conv1d, Conv2d, Conv3d
    batch: int
    in_channels: int
    out_channels: int
    input_size: tuple  # spatial, e.g. (H, W)
    kernel: tuple
    stride: tuple
    padding: tuple
    groups: int
    bias: bool
    output_size: tuple  # spatial, after padding, kernel and stride
    input_shape_nchw: tuple  # (N, C, *input_size), torch's order
    output_shape_nchw: tuple


@dataclass(frozen=True)
class Weights:
    pytorch_shape: tuple  # (O, I/groups, *kernel)
    keras_shape: tuple  # (*kernel, I/groups, O)
    filters: int  # O: one filter per output channel
    filter_shape: tuple  # one filter in channels-last words: (*kernel, I/groups)
    kernels: int  # O * I/groups kernels, each of kernel_shape
    kernel_shape: tuple
    slices_2d: Optional[int]  # 2-D kernel slices of kh x kw (None for a 1-D conv)
    params_without_bias: int
    bias_params: int  # Cout: what a bias adds, whether or not this layer has one
    params_with_bias: int
    params: int  # this layer's count: with bias if it has one


@dataclass(frozen=True)
class Cost:
    output_elements: int
    macs: int  # multiply-adds, bias excluded
    flops: int  # 2 * macs, what torch.utils.flop_counter counts for a conv
    bias_adds: int  # one add per output element when the layer has a bias


@dataclass(frozen=True)
class Product:
    """`count` independent matrix products left @ right -> result."""

    left: tuple
    right: tuple
    result: tuple
    count: int
    meaning: str


@dataclass(frozen=True)
class MatrixView:
    channels_last: Product  # (N*P, Cin*K) @ (Cin*K, Cout): pixels as rows
    channels_first: Product  # (Cout, Cin*K) @ (Cin*K, P) per image: pixels as columns
    im2col_shape: tuple  # the patch matrix a general conv builds, (N*P, Cin/groups*K) per group
    im2col_elements: int
    input_elements: int
    im2col_is_identity: bool  # 1x1, stride 1, no padding: the patches are the pixels themselves
    im2col_expansion: float  # im2col_elements / input_elements: how much im2col copies


@dataclass(frozen=True)
class WholeImage:
    """The layer as one matrix acting on a whole flattened image (one batch item)."""

    structure: str  # "kron(W, I_P)" for a plain 1x1; blocked Toeplitz otherwise
    shape: tuple  # (Cout * P_out, Cin * P_in)
    entries: int
    nonzeros: int  # with every weight non-zero
    density: float
    sparsity: float
    entries_per_nonzero: Optional[float]  # "1 non-zero in every ..." (g*P for a plain 1x1)
    block_shape: tuple  # each (out channel, in channel) block: (P_out, P_in)
    block_grid: tuple  # a block is itself a grid of sub-blocks, one per (out row, in row) ...
    sub_block_shape: tuple  # ... each mapping one input row to one output row: (W_out, W_in)
    nonzero_sub_blocks: int  # per block: the (out row, in row) pairs some kernel row connects
    dense_bytes: int  # float32, every entry stored
    gemm_weight_bytes: int  # what a GEMM stores instead: the weight itself


@dataclass(frozen=True)
class Roofline:
    dtype_bytes: int
    bytes_moved: int  # input + weight + bias + output, each read or written once
    intensity: float  # FLOPs per byte
    peak_flops: float  # FLOP/s
    peak_bandwidth: float  # bytes/s
    peaks_source: str  # "measured: ..." or "assumed: ..."
    balance: float  # peak_flops / peak_bandwidth: the intensity where the roofs meet
    bound: str  # "memory" or "compute", under these peaks (an assumption unless peaks_measured)
    min_time_s: float  # max(flops / peak_flops, bytes / peak_bandwidth)
    peaks_measured: bool  # True only with measure=True: then `bound` is a verdict


@dataclass(frozen=True)
class Note:
    key: str  # stable id: cin_one, cin_eq_cout, reduction, expansion, stride, groups, ...
    text: str


@dataclass(frozen=True)
class Answer:
    """A question people ask, answered in words with this layer's numbers."""

    key: str  # stable id: matmul, cin_eq_cout, cin_one, shrink, conv2d_vs_conv3d, ...
    question: str
    answer: str
    about_this_layer: bool  # the question is about this kind of layer (listed first)


@dataclass(frozen=True)
class DotProduct:
    """out[o] at one pixel = sum of w * x over the input channels of o's group, + bias."""

    pixel: tuple
    out_channel: int
    terms: tuple  # ((w, x), ...) in channel order
    bias: float
    value: float


@dataclass(frozen=True)
class KernelSlide:
    """One kernel of one filter slid over its own input channel (a k x k example only)."""

    in_channel: int  # within the filter's group
    kernel: tuple  # the kernel's weights, e.g. 3x3
    channel: tuple  # that input channel, unpadded
    slid: tuple  # the kernel slid over it (stride, padding): one map of the output's size


@dataclass(frozen=True)
class Example:
    seed: int
    in_channels: int
    out_channels: int
    groups: int
    size: tuple  # spatial
    x_hwc: tuple  # nested lists as tuples: x[pixel...][channel], channels-last to read by pixel
    weight: tuple  # (O, I/groups) matrix for a 1x1 kernel, else (O, I/groups, *kernel)
    bias: tuple
    dot_products: tuple  # DotProduct for every pixel and output channel
    output_hwc: tuple  # from the written-out dot products
    output_onebyone: Optional[tuple]  # onebyone.conv1x1, method="loop" (None: kernel not 1x1)
    output_torch: tuple  # torch's conv
    max_abs_diff: float  # between the three
    whole_image: tuple  # the whole-image matrix, dense (kron(W, I_P) for a plain 1x1)
    whole_image_agrees: bool  # whole_image @ flat(x) + bias == flat(y)
    gemm_x: tuple  # (P_out, Cin*K): one row per output pixel (im2col; the pixels for a 1x1)
    gemm_w: tuple  # (Cin*K, Cout): the weight transposed (block-diagonal when grouped)
    gemm_y: tuple  # (P_out, Cout) = gemm_x @ gemm_w + bias
    gemm_agrees: bool  # gemm_y == the written-out dot products
    stand_in: str  # what the example is: "a 2x2x3 -> 2 filters stand-in for your 28x28x192 ..."
    kernel: tuple  # the example keeps the user's kernel, stride and padding
    stride: tuple
    padding: tuple
    output_size: tuple  # spatial
    weight_rank: int  # rank of gemm_w: Cin*K = Cout = rank means an invertible W
    kernel_slides: tuple  # KernelSlide per input channel of filter 0 (k x k kernels only)


@dataclass(frozen=True)
class Explanation:
    schema: str
    layer: Layer
    weights: Weights
    cost: Cost
    matrix: MatrixView
    whole_image: WholeImage
    roofline: Roofline
    notes: tuple  # Note
    example: Optional[Example]
    answers: tuple  # Answer, those about this kind of layer first
    pytorch_code: str  # runnable: nn.Conv, the reshape + matmul, nn.Linear, checked against it

    def as_dict(self):
        """The explanation as JSON-ready dicts, lists and numbers."""
        return asdict(self)
