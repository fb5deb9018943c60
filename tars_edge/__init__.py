"""TARS Edge runtime: loads a model bundle with ONNX Runtime and answers through a tiered cascade.

Never imports torch: everything here runs on numpy + onnxruntime on a Raspberry Pi.
"""

__version__ = "0.1.0"
