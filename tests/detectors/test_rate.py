import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from sknoisy import NoisyNetClassifier
from sknoisy.detectors import O2UNoiseDetector
from sknoisy.noise import estimate_noise_rate


def test_o2u_auto_rate_uses_confident_joint_of_stage_2_mean_proba():
    X, y = make_classification(n_samples=300, n_features=8, n_informative=5, n_classes=3,
                               n_clusters_per_class=1, class_sep=2.5, random_state=0)
    rng = np.random.default_rng(0)
    flip = rng.random(300) < 0.3
    y_noisy = np.where(flip, (y + rng.integers(1, 3, 300)) % 3, y)
    net = NoisyNetClassifier(optimizer=torch.optim.SGD, optimizer__momentum=0.9, lr=0.05,
                             batch_size=32, module__hidden_sizes=(16,))
    det = O2UNoiseDetector(net, warmup_epochs=3, n_cycles=2, cycle_length=2,
                           random_state=0).fit(X, y_noisy)
    record = dict(det.estimator_.callbacks_)["per_sample_record"]
    # The four stage-2 epochs (4-7), averaged, not the last epoch of the last cycle.
    assert record.n_recorded_ == 4
    assert not np.allclose(record.mean_proba_, record.last_proba_)
    assert det.noise_rate_ == pytest.approx(
        estimate_noise_rate(proba=record.mean_proba_, y=y_noisy))
    assert abs(det.noise_rate_ - flip.mean()) < 0.15
