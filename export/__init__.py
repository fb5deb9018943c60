"""TARS Edge export side (import name ``tars_export``): PyTorch model definitions, training,
quantization, ONNX export and verification, and the bundle writer. Needs the ``export`` extra."""
