"""tinybench: cycles, Flash and RAM of TinyML models on Cortex-M, measured in simulation."""

__version__ = "0.1.0"
