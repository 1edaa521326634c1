import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from sknoisy import NoisyNetClassifier
from sknoisy.callbacks import PerSampleRecord
from sknoisy.detectors import O2UNoiseDetector
from sknoisy.noise import confident_joint, estimate_noise_rate
from sknoisy.noise._label_model import fit_random_labels, one_way_excess


def _three_classes(n, flip_rate, seed=0, class_sep=2.5, n_features=8, n_informative=5):
    X, y = make_classification(n_samples=n, n_features=n_features, n_informative=n_informative,
                               n_redundant=0, n_classes=3, n_clusters_per_class=1,
                               class_sep=class_sep, random_state=seed)
    rng = np.random.default_rng(seed)
    flip = rng.random(n) < flip_rate
    return X, np.where(flip, (y + rng.integers(1, 3, n)) % 3, y), flip


def _label_model(det, n_samples):
    n_classes = len(det.classes_)
    return (det.random_label_rate_ * (n_classes - 1) / n_classes
            + det.one_way_excess_.sum() / n_samples)


def test_o2u_auto_rate_is_the_larger_of_the_label_model_and_the_stage_2_joint():
    X, y_noisy, flip = _three_classes(300, 0.3)
    # The user's own evaluation pass after epoch 3, to check what the detector read.
    net = NoisyNetClassifier(optimizer=torch.optim.SGD, optimizer__momentum=0.9, lr=0.05,
                             batch_size=32, module__hidden_sizes=(16,), callbacks=[
                                 ("epoch_3", PerSampleRecord(start_epoch=3, stop_epoch=3,
                                                             proba=True, eval_pass=True))])
    det = O2UNoiseDetector(net, warmup_epochs=3, n_cycles=2, cycle_length=2,
                           random_state=0).fit(X, y_noisy)
    callbacks = dict(det.estimator_.callbacks_)
    record = callbacks["per_sample_record"]
    # The joint reads the four stage-2 epochs (4-7), averaged, not the last epoch alone.
    assert record.n_recorded_ == 4
    assert not np.allclose(record.mean_proba_, record.last_proba_)
    np.testing.assert_array_equal(
        det.one_way_excess_, one_way_excess(confident_joint(record.mean_proba_, y_noisy)))
    # The random-label model read warm-up epochs 2 and 3; the largest fit counts.
    early = callbacks["o2u_early_random_labels"].rates_
    assert sorted(early) == [2, 3]
    assert early[3] == pytest.approx(
        fit_random_labels(callbacks["epoch_3"].last_proba_, y_noisy).rate)
    assert det.random_label_rate_ == max(early.values()) > 0
    assert det.joint_noise_rate_ == pytest.approx(
        estimate_noise_rate(proba=record.mean_proba_, y=y_noisy))
    assert det.noise_rate_ == pytest.approx(
        max(_label_model(det, len(y_noisy)), det.joint_noise_rate_))
    assert abs(det.noise_rate_ - flip.mean()) < 0.1
    assert callbacks["o2u_early_random_labels"].targets_ is None  # nothing kept


def test_o2u_auto_rate_sees_random_labels_the_network_has_memorised():
    # A wide network on 600 rows fits most wrong labels by stage 2, so the confident
    # joint of stage 2 finds almost none; the warm-up epochs came before that.
    X, y_noisy, flip = _three_classes(600, 0.2, class_sep=2.0, n_features=20,
                                      n_informative=8)
    net = NoisyNetClassifier(optimizer=torch.optim.SGD, optimizer__momentum=0.9, lr=0.01,
                             batch_size=32, module__hidden_sizes=(256, 256))
    det = O2UNoiseDetector(net, random_state=0).fit(X, y_noisy)
    callbacks = dict(det.estimator_.callbacks_)
    record = callbacks["per_sample_record"]
    assert estimate_noise_rate(proba=record.mean_proba_, y=y_noisy) < 0.05 < flip.mean() - 0.1
    # The fits fall as the network starts fitting wrong labels, and the reading stops
    # there, long before the warm-up ends.
    rates = list(callbacks["o2u_early_random_labels"].rates_.values())
    assert len(rates) < 9 and rates[-1] < max(rates) == det.random_label_rate_
    assert abs(det.noise_rate_ - flip.mean()) < 0.05
    assert abs(det.is_noisy_.mean() - flip.mean()) < 0.05
    assert flip[det.is_noisy_].mean() > 0.8
    _, y_clean, _ = _three_classes(600, 0.0, class_sep=2.0, n_features=20, n_informative=8)
    clean = O2UNoiseDetector(net, random_state=0).fit(X, y_clean)
    assert clean.noise_rate_ <= 0.02


def test_o2u_label_model_does_not_count_an_underfit_networks_mistakes():
    # Classes of two clusters each that a small network fits badly: the stage-2 joint
    # puts many clean rows off its diagonal, both ways; the label model reads none of
    # them as wrong labels (the rate, the larger of the two, stays the joint's).
    X, y = make_classification(n_samples=1200, n_features=20, n_informative=8,
                               n_classes=4, n_clusters_per_class=2, flip_y=0,
                               random_state=0)
    net = NoisyNetClassifier(optimizer=torch.optim.SGD, optimizer__momentum=0.9, lr=0.01,
                             module__hidden_sizes=(16,))
    det = O2UNoiseDetector(net, random_state=0).fit(X, y)
    assert det.joint_noise_rate_ > 0.05
    assert _label_model(det, len(y)) <= 0.02


@pytest.mark.parametrize("warmup_epochs, expected", [(4, [2, 3, 4]), (1, [2]), (0, [])])
def test_o2u_auto_rate_reads_every_warm_up_epoch_from_the_second(warmup_epochs, expected):
    X, y_noisy, _ = _three_classes(120, 0.2)
    det = O2UNoiseDetector(NoisyNetClassifier(batch_size=32, module__hidden_sizes=(8,)),
                           warmup_epochs=warmup_epochs, n_cycles=1, cycle_length=1,
                           random_state=0).fit(X, y_noisy)
    callbacks = dict(det.estimator_.callbacks_)
    if expected:
        rates = callbacks["o2u_early_random_labels"].rates_
        # Read in order from epoch 2, and only until a fit falls below an earlier one.
        assert list(rates) == expected[:len(rates)]
        values = list(rates.values())
        assert all(values[i] >= max(values[:i]) for i in range(1, len(values) - 1))
        assert len(values) == len(expected) or values[-1] < max(values)
    else:
        assert "o2u_early_random_labels" not in callbacks
        assert det.random_label_rate_ == 0.0
    assert det.noise_rate_ == pytest.approx(
        max(_label_model(det, len(y_noisy)), det.joint_noise_rate_))


def test_o2u_fixed_rate_drops_the_estimates_of_an_earlier_auto_fit():
    X, y_noisy, _ = _three_classes(120, 0.2)
    det = O2UNoiseDetector(NoisyNetClassifier(batch_size=32, module__hidden_sizes=(8,)),
                           warmup_epochs=2, n_cycles=1, cycle_length=1, random_state=0)
    det.fit(X, y_noisy)
    assert hasattr(det, "random_label_rate_") and hasattr(det, "one_way_excess_")
    det.set_params(noise_rate=0.1).fit(X, y_noisy)
    assert det.noise_rate_ == 0.1
    assert not any(hasattr(det, name) for name in (
        "random_label_rate_", "one_way_excess_", "joint_noise_rate_"))
    assert "o2u_early_random_labels" not in dict(det.estimator_.callbacks_)
