"""Models: the task models as int8 .tflite (export), their conversion (convert) and shipped
copies (twins), inspection of any .tflite (inspect), host references (reference)."""
