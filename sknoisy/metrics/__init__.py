"""Noise-detection quality: precision at k, AUPRC, AUROC and a summary report."""

from ._detection import noise_detection_report, precision_at_k

__all__ = ["noise_detection_report", "precision_at_k"]
