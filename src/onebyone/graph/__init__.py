"""Real networks: find every 1x1 conv in a model (inspect) and rewrite it, verified (optimize).

Everything here works on torch.fx GraphModules; passes are in onebyone.graph.passes.
"""
from .inspect import inspect
from .optimize import optimize

__all__ = ["inspect", "optimize"]
