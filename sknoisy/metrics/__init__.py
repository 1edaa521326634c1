"""Noise-detection quality: precision at k, AUPRC, AUROC, a report, and a summary of
suspected label errors for data without ground truth."""

from ._detection import noise_detection_report, precision_at_k
from ._summary import label_issue_summary

__all__ = ["label_issue_summary", "noise_detection_report", "precision_at_k"]
