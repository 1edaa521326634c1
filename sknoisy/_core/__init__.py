"""Shared machinery: the training core, data path and validation helpers."""
