"""Models: the task models as int8 .tflite, inspection of any .tflite, host references."""

from tinybench.models.export import export

__all__ = ["export"]
