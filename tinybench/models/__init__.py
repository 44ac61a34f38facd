"""Models: export the task models as int8 .tflite, inspect any .tflite, run it on the host."""

from tinybench.models.convert import export

__all__ = ["export"]
