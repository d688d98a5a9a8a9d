"""What a 1x1 conv is for: the one vocabulary of roles, and the rules that read them off a graph.

Rules, tried in this order (inspect, ONNX inspect, the blocks and explain --block all use them):

attention:   its output is 1x1 spatially (a squeeze-and-excitation gate: channel attention) or
             within three ops it feeds a matmul / bmm / softmax / scaled_dot_product_attention
             (ops that only move data, such as reshape, permute and split, do not count);
head:        nothing after it is a conv or linear layer, nor an add / cat / mul joining it with
             other branches (it makes the model's output: a classifier, a detector's head);
projection:  it has a stride, or it sits on a shortcut (its input feeds other layers and its
             output, maybe through BatchNorm, goes straight into an add);
reduce / expand / mix: Cout < Cin, Cout > Cin, Cout == Cin.

A module may declare what the rules cannot see (duck typing: a ``conv1x1_roles`` dict, or a
method returning one, mapping its submodule paths to roles). Declared roles refine a rule's role
after a colon: "attention: query", "attention: key", "attention: value" (self-attention's three
projections), "head: scores", "head: boxes" (a detector's two predictions); ROLES lists them all.
"""
import math

# role -> what it means, for the legend under a table of rows.
ROLES = {
    "reduce": "fewer channels out than in, so what comes after it is cheap",
    "expand": "more channels out than in: back to the block's width, or a wider space to work in",
    "mix": "as many channels out as in: a per-pixel linear layer across channels",
    "projection": "a stride or a shortcut: maps the input to the width and grid of an add",
    "attention": "computes attention: a gate on a 1x1 (pooled) image, or near a matmul/softmax",
    "attention: query": "g(x): what each position looks for",
    "attention: key": "f(x): what each position offers to be matched against",
    "attention: value": "h(x): what each position passes on once attended to",
    "attention: qkv": "query, key and value from one layer (a Linear of 3x the width), split after it",
    "head": "makes an output of the model: nothing but the output comes after it",
    "head: scores": "per-anchor class logits at every position",
    "head: boxes": "per-anchor box offsets (dx, dy, dw, dh) at every position",
}


def channel_role(cin, cout):
    """reduce, expand or mix by channel counts.

    >>> channel_role(192, 64), channel_role(64, 256), channel_role(64, 64)
    ('reduce', 'expand', 'mix')
    """
    return "reduce" if cout < cin else "expand" if cout > cin else "mix"


def linear_role(role, cin, cout):
    """A Linear's role from the rules' one: near attention, a Linear of 3x its input width
    makes query, key and value in one layer, split after it.

    >>> linear_role("attention", 64, 192), linear_role("attention", 64, 64)
    ('attention: qkv', 'attention')
    """
    return "attention: qkv" if role == "attention" and cout == 3 * cin else role


def declared_roles(model):
    """{module path: role} from every ``conv1x1_roles`` declaration inside ``model``.

    >>> import torch
    >>> class Gate(torch.nn.Sequential):
    ...     conv1x1_roles = {"0": "attention"}
    >>> declared_roles(torch.nn.Sequential(torch.nn.ReLU(), Gate(torch.nn.Conv2d(4, 4, 1))))
    {'1.0': 'attention'}
    """
    found = {}
    for prefix, sub in model.named_modules():
        declared = getattr(sub, "conv1x1_roles", None)
        if callable(declared):
            declared = declared()
        for path, role in (declared or {}).items():
            found[f"{prefix}.{path}" if prefix else path] = role
    return found


def feeds_layer(view):
    """{node: True if a conv, a linear layer or a join of branches is downstream of it}.

    ``view`` is a graph seen through four questions (see census.FxView, onnx_view.OnnxView):
    nodes() in topological order, users(n), kind(n) in {"layer", "bn", "add", "join",
    "attention", "view", None}, and input_readers(n), how many nodes read n's input.
    """
    feeds = {}
    for n in reversed(view.nodes()):
        feeds[n] = any(feeds[u] or view.kind(u) in ("layer", "join", "add") for u in view.users(n))
    return feeds


def rule_role(view, feeds, n, cin, cout, stride, shape):
    """The rules above for node n of view (shape: its output, batch first; feeds: feeds_layer)."""
    if (shape and len(shape) > 2 and math.prod(shape[2:]) == 1) or _near_attention(view, n):
        return "attention"
    if not feeds[n]:
        return "head"
    if any(s != 1 for s in stride) or _on_shortcut(view, n):
        return "projection"
    return channel_role(cin, cout)


def _near_attention(view, n, hops=3):
    frontier = view.users(n)
    for _ in range(hops):
        frontier = _through_views(view, frontier)
        if any(view.kind(u) == "attention" for u in frontier):
            return True
        frontier = [v for u in frontier for v in view.users(u)]
    return False


def _through_views(view, nodes, depth=8):
    """nodes and, through ops that only move data (reshape, permute, split: kind "view"), the
    nodes they lead to: a transformer's q/k/v pass through several before the attention."""
    found, todo = list(nodes), [u for u in nodes if view.kind(u) == "view"]
    for _ in range(depth):
        todo = [v for u in todo for v in view.users(u)]
        found += todo
        todo = [v for v in todo if view.kind(v) == "view"]
    return found


def _on_shortcut(view, n):
    if view.input_readers(n) < 2:
        return False
    users = view.users(n)
    if len(users) == 1 and view.kind(users[0]) == "bn":
        users = view.users(users[0])
    return len(users) == 1 and view.kind(users[0]) == "add"
