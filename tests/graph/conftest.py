"""Makes tests/graph importable from its subfolders too (tests/graph/passes/ mirrors
src/onebyone/graph/passes/): pytest puts a conftest's folder on sys.path, so graph_toys and
onnx_styles import alike from every test under tests/graph."""
