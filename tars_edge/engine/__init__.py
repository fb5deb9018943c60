"""Running bundle models with ONNX Runtime."""
