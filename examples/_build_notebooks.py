"""Build (and optionally execute) the example notebooks from the cells written below.

    python examples/_build_notebooks.py            # write tabular.ipynb and images.ipynb
    python examples/_build_notebooks.py --execute  # ... and run them at full size, saving
                                                   # the outputs in the .ipynb files

Set SKNOISY_NOTEBOOK_QUICK=1 to execute at the tiny size the tests use.

An executed notebook records in its metadata a fingerprint of the code that produced its
outputs (every ``sknoisy/**/*.py`` file and the notebook's cells); the test suite fails
when the committed notebooks' fingerprint is not that of the current code, so outputs
are never older than the code they document.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent / "sknoisy"

SETUP = '''\
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

# SKNOISY_NOTEBOOK_QUICK=1 runs everything at a tiny size (used by the test suite).
QUICK = os.environ.get("SKNOISY_NOTEBOOK_QUICK", "") not in ("", "0")
'''

TABULAR = [
    new_markdown_cell("""\
# Noisy labels in a table

A walk through sknoisy on tabular data: scikit-learn's breast-cancer set as a pandas
DataFrame with string labels, a quarter of the training labels flipped, two noise
detectors, a `Pipeline` that cleans the data before Co-teaching, a grid search over it,
and a comparison with plain training, both to the last epoch and stopped early on a
held-out noisy split (the bar a noisy-label method has to clear).

Set the environment variable `SKNOISY_NOTEBOOK_QUICK=1` to run it in a few seconds (tiny
sizes, meaningless numbers)."""),
    new_code_cell(SETUP + '''\
EPOCHS = 2 if QUICK else 100
'''),
    new_markdown_cell("""\
## The data: a DataFrame with string labels

569 tumours, 30 numeric features, labels `'malignant'` / `'benign'`. The test labels are
never touched: they measure what a model really learned."""),
    new_code_cell('''\
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

data = load_breast_cancer(as_frame=True)
X = data.data
y = pd.Series(data.target_names[data.target], name="diagnosis", index=X.index)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0)
if QUICK:
    X_train, y_train = X_train.iloc[:120], y_train.iloc[:120]
print(X_train.shape, X_test.shape)
y_train.value_counts()
'''),
    new_markdown_cell("""\
## Inject label noise

`make_label_noise` flips 25% of the training labels to the other class and returns which
ones it flipped, so we can score the detectors."""),
    new_code_cell('''\
from sknoisy.noise import make_label_noise

y_noisy, is_flipped = make_label_noise(y_train, "symmetric", 0.25, random_state=0)
print(f"{is_flipped.mean():.1%} of the training labels are wrong")
pd.crosstab(y_train.rename("true"), y_noisy.rename("given"))
'''),
    new_markdown_cell("""\
## Find the wrong labels

Two detectors score every training sample (higher = more likely mislabeled):

- `O2UNoiseDetector` trains a network, then cycles the learning rate and records how
  each sample's loss compares with the average across the cycles;
- `BMMLabelCleaner` fits a two-component Beta mixture on the per-sample losses of a
  briefly trained network.

Every sknoisy network standardises 2-D inputs itself (`standardize=True`, the
default), so the `StandardScaler` here is optional: it shows that any scikit-learn
transformer can come first, in a pipeline too."""),
    new_code_cell('''\
from sklearn.preprocessing import StandardScaler

from sknoisy.detectors import BMMLabelCleaner, O2UNoiseDetector
from sknoisy.metrics import noise_detection_report

X_train_std = StandardScaler().fit_transform(X_train)
o2u = O2UNoiseDetector(warmup_epochs=2 if QUICK else 10, cycle_length=1 if QUICK else 5,
                       record_trajectories=True, random_state=0).fit(X_train_std, y_noisy)
bmm = BMMLabelCleaner(warmup_epochs=2 if QUICK else 10, random_state=0).fit(X_train_std, y_noisy)

pd.DataFrame({
    name: noise_detection_report(is_flipped, det.noise_scores_)
    for name, det in [("O2U", o2u), ("BMM", bmm)]
}).T[["true_rate", "precision_at_true_rate", "auprc", "auroc"]].round(3)
'''),
    new_code_cell('''\
from sknoisy.plotting import (plot_beta_mixture, plot_loss_histogram,
                              plot_loss_trajectories, plot_precision_recall)

fig, axes = plt.subplots(2, 2, figsize=(11, 8))
plot_precision_recall(is_flipped, {"O2U": o2u.noise_scores_, "BMM": bmm.noise_scores_},
                      ax=axes[0, 0])
plot_loss_histogram(bmm.losses_, is_flipped, bins=30, ax=axes[0, 1])
plot_beta_mixture(bmm.losses_normalized_, bmm.mixture_, bins=30, ax=axes[1, 0])
plot_loss_trajectories(o2u.loss_trajectories_, is_flipped, random_state=0, ax=axes[1, 1])
axes[1, 1].set_title("O2U: centred loss across the learning-rate cycles")
fig.tight_layout()
'''),
    new_markdown_cell("""\
## Clean, then train: a Pipeline

`sknoisy.pipeline.Pipeline` is imbalanced-learn's pipeline: the detector removes the
rows it flags during `fit` and is skipped at `predict`. Co-teaching then trains two
networks that each pick small-loss samples for the other, against the noise the
detector missed."""),
    new_code_cell('''\
from sknoisy.classifiers import CoTeachingClassifier
from sknoisy.pipeline import Pipeline

pipe = Pipeline([
    StandardScaler(),
    O2UNoiseDetector(warmup_epochs=2 if QUICK else 10, cycle_length=1 if QUICK else 5,
                     random_state=0),
    CoTeachingClassifier(forget_rate=0.1, max_epochs=EPOCHS, random_state=0),
])
pipe.fit(X_train, y_noisy)
print(f"kept {len(pipe.named_steps['o2unoisedetector'].sample_indices_)} of {len(y_noisy)} rows; "
      f"clean-test accuracy {pipe.score(X_test, y_test):.3f}")
'''),
    new_markdown_cell("""\
## Tune it with GridSearchCV

Every step's parameters are reachable as `<step>__<param>`. The validation folds hold
*noisy* labels too (that is all a user has). With symmetric noise the expected noisy
accuracy is an increasing function of the clean one, so it ranks candidates correctly
*in expectation*; with about 130 noisy rows per fold, differences smaller than the
`std_test_score` column are noise, and the chosen setting need not be the best one on
clean labels."""),
    new_code_cell('''\
from sklearn.model_selection import GridSearchCV

grid = GridSearchCV(pipe, {
    "o2unoisedetector__noise_rate": ["auto", 0.25],
    "coteachingclassifier__forget_rate": [0.1, 0.25],
}, cv=2 if QUICK else 3, n_jobs=1)
grid.fit(X_train, y_noisy)
print("best:", grid.best_params_)
print(f"clean-test accuracy of the refitted best pipeline: {grid.score(X_test, y_test):.3f}")
pd.DataFrame(grid.cv_results_["params"]).assign(
    mean_test_score=grid.cv_results_["mean_test_score"],
    std_test_score=grid.cv_results_["std_test_score"]).round(3)
'''),
    new_markdown_cell("""\
## Compared with plain training

The same network trained with cross-entropy on the noisy labels, to its last epoch and
stopped early (`early_stopping=True`: 10% of the noisy training rows held out, the best
epoch's weights kept; on by default from 1000 rows, and this training set has 398), and
on the clean labels (what we could reach without noise)."""),
    new_code_cell('''\
from sknoisy import NoisyNetClassifier

def plain(**params):
    return Pipeline([StandardScaler(),
                     NoisyNetClassifier(max_epochs=EPOCHS, random_state=0, **params)])

results = pd.Series({
    "cross-entropy, clean labels": plain().fit(X_train, y_train).score(X_test, y_test),
    "cross-entropy, noisy labels": plain().fit(X_train, y_noisy).score(X_test, y_test),
    "cross-entropy, noisy labels, stopped early":
        plain(early_stopping=True).fit(X_train, y_noisy).score(X_test, y_test),
    "O2U + Co-teaching": pipe.score(X_test, y_test),
    "O2U + Co-teaching, grid-searched": grid.score(X_test, y_test),
}, name="clean-test accuracy")
results.round(3).to_frame()
'''),
    new_markdown_cell("""\
On this small table (398 training rows, a quarter of them flipped) cross-entropy stopped
early on a held-out noisy tenth is the best noisy-label row, level with training on the
clean labels; the detector + Co-teaching pipeline, tuned or not, stays below it. Early
stopping is the first thing to try; `benchmarks/RESULTS.md` shows where the methods add
to it (larger data, heavier or class-dependent noise)."""),
]

IMAGES = [
    new_markdown_cell("""\
# Noisy labels on images: Fashion-MNIST

Fashion-MNIST images (28x28, 10 classes) with 40% of the training labels flipped to
another class. sknoisy picks a small CNN for image-shaped input. We compare Co-teaching
with plain cross-entropy (trained to its last epoch, and stopped early on a held-out
noisy split, which every sknoisy estimator does by default from 1000 rows), watch the
network memorise the wrong labels, look at the Beta mixture that separates clean from
noisy losses, at O2U's loss curves, and at the images the detectors find most
suspicious.

The images are read from local files (`apt-get install dataset-fashion-mnist`, or
`SKNOISY_DATA=<folder>`). Set `SKNOISY_NOTEBOOK_QUICK=1` for a tiny run."""),
    new_code_cell(SETUP + '''\
N_TRAIN, N_TEST, EPOCHS = (200, 100, 1) if QUICK else (3000, 2000, 30)
'''),
    new_code_cell('''\
from sknoisy.datasets import load_fashion_mnist
from sknoisy.noise import make_label_noise

rng = np.random.RandomState(0)  # one seeded stream draws both subsets
train = load_fashion_mnist(as_images=True, n_samples=N_TRAIN, random_state=rng)
X_test, y_test = load_fashion_mnist(subset="test", as_images=True, n_samples=N_TEST,
                                    random_state=rng, return_X_y=True)
X_train, y_train, names = train.data, train.target, list(train.target_names)
y_noisy, is_flipped = make_label_noise(y_train, "symmetric", 0.4, random_state=0)
print(X_train.shape, f"{is_flipped.mean():.1%} of the training labels flipped")
'''),
    new_markdown_cell("""\
## Co-teaching against cross-entropy

Same CNN, same budget of epochs. `last` trains with cross-entropy to its last epoch and
records every sample's loss at every epoch; `ce` is the default, stopped at its best
epoch on a held-out 10% of the noisy labels; Co-teaching's two networks train on the
samples with small loss, which are mostly the correct ones (`forget_rate` is the expected
noise rate), and stop early the same way."""),
    new_code_cell('''\
from sknoisy import NoisyNetClassifier
from sknoisy.callbacks import PerSampleRecord
from sknoisy.classifiers import CoTeachingClassifier

record = PerSampleRecord(trajectories=True)
last = NoisyNetClassifier(max_epochs=EPOCHS, early_stopping=False, random_state=0,
                          callbacks=[("record", record)]).fit(X_train, y_noisy)
ce = NoisyNetClassifier(max_epochs=EPOCHS, random_state=0).fit(X_train, y_noisy)
cot = CoTeachingClassifier(forget_rate=0.4, num_gradual=min(10, EPOCHS),
                           max_epochs=EPOCHS, random_state=0).fit(X_train, y_noisy)
pd.Series({"cross-entropy, last epoch": last.score(X_test, y_test),
           "cross-entropy, stopped early": ce.score(X_test, y_test),
           "Co-teaching, stopped early": cot.score(X_test, y_test)},
          name="clean-test accuracy").round(3)
'''),
    new_markdown_cell("""\
Early stopping alone recovers most of what the last epoch lost to the wrong labels; on
3,000 images Co-teaching, stopped early as well, does not add to it here (on all of
Fashion-MNIST it does: see the Co-teaching section of `benchmarks/RESULTS.md`).

The record of `last` shows the memorisation directly: the mean loss of the flipped
samples (on their wrong labels) against that of the others, epoch by epoch. The gap
is what detectors and Co-teaching use; once it closes, the wrong labels have been
learned. Co-teaching's history shows its two networks' kept and dropped samples."""),
    new_code_cell('''\
losses = dict(last.callbacks_)["record"].loss_trajectories_   # (epochs, n), centred
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].plot(losses[:, is_flipped].mean(axis=1), label="flipped labels")
axes[0].plot(losses[:, ~is_flipped].mean(axis=1), label="correct labels")
axes[0].set_title("cross-entropy: loss minus the epoch's mean")
axes[1].plot([h["kept_loss"] for h in cot.history], label="kept samples")
axes[1].plot([h["dropped_loss"] for h in cot.history], label="dropped samples")
axes[1].set_title("Co-teaching: mean loss of what each network kept")
for ax in axes:
    ax.set_xlabel("epoch")
    ax.legend()
fig.tight_layout()
'''),
    new_markdown_cell("""\
## The Beta mixture on per-sample losses

`BMMLabelCleaner` trains for its default 10 epochs (before the network memorises the
wrong labels), normalises each sample's loss to [0, 1] and fits two Beta components:
the low-loss one is the clean samples, the high-loss one the noisy."""),
    new_code_cell('''\
from sknoisy.detectors import BMMLabelCleaner
from sknoisy.plotting import plot_beta_mixture, plot_loss_histogram

bmm = BMMLabelCleaner(warmup_epochs=1 if QUICK else 10, random_state=0).fit(X_train, y_noisy)
print(f"BMM flagged {bmm.is_noisy_.mean():.1%} of the rows; {is_flipped.mean():.1%} were flipped")
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
plot_loss_histogram(bmm.losses_, is_flipped, bins=40, ax=axes[0])
plot_beta_mixture(bmm.losses_normalized_, bmm.mixture_, bins=40, ax=axes[1])
fig.tight_layout()
'''),
    new_markdown_cell("""\
## O2U's loss curves

O2U continues training with a cyclical learning rate and records every sample's loss
(minus the epoch's mean). Mislabeled samples stay above the others through the cycles."""),
    new_code_cell('''\
from sknoisy.detectors import O2UNoiseDetector
from sknoisy.metrics import noise_detection_report
from sknoisy.plotting import plot_loss_trajectories, plot_precision_recall

o2u = O2UNoiseDetector(warmup_epochs=1 if QUICK else 10, n_cycles=1 if QUICK else 2,
                       cycle_length=2 if QUICK else 5, record_trajectories=True,
                       random_state=0).fit(X_train, y_noisy)
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
plot_loss_trajectories(o2u.loss_trajectories_, is_flipped, random_state=0, ax=axes[0])
plot_precision_recall(is_flipped, {"O2U": o2u.noise_scores_, "BMM": bmm.noise_scores_},
                      ax=axes[1])
fig.tight_layout()
pd.DataFrame({name: noise_detection_report(is_flipped, det.noise_scores_)
              for name, det in [("O2U", o2u), ("BMM", bmm)]}).T[
    ["precision_at_true_rate", "auprc", "auroc"]].round(3)
'''),
    new_markdown_cell("""\
## The most suspicious images

The 16 training images O2U scores highest, with their given label and the label its
network predicts. Red titles: the two disagree. The printed count says how many of
them were really flipped."""),
    new_code_cell('''\
from sknoisy.plotting import plot_suspicious_images

suggested = o2u.suggested_labels_   # the label its network predicts for each row
fig = plot_suspicious_images(X_train, y_noisy, suggested, o2u.noise_scores_, n=16,
                             class_names=names)
top = np.argsort(-o2u.noise_scores_)[:16]
print(f"{is_flipped[top].sum()} of these 16 labels were flipped")
'''),
]


def build() -> dict[str, nbformat.NotebookNode]:
    """The two notebooks, without outputs."""
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                           "language": "python"},
            "language_info": {"name": "python"}}
    return {name: new_notebook(cells=cells, metadata=meta)
            for name, cells in [("tabular.ipynb", TABULAR), ("images.ipynb", IMAGES)]}


def fingerprint(nb: nbformat.NotebookNode) -> str:
    """SHA-256 of the package's Python sources and the notebook's cell sources."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    for cell in nb.cells:
        digest.update(cell.source.encode())
    return digest.hexdigest()


def execute(nb: nbformat.NotebookNode, timeout: int = 1800) -> nbformat.NotebookNode:
    """Run ``nb`` in a fresh kernel from the examples folder; return it with outputs."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(HERE)}}).execute()
    quick = os.environ.get("SKNOISY_NOTEBOOK_QUICK", "") not in ("", "0")
    nb.metadata["sknoisy"] = {"fingerprint": fingerprint(nb), "quick": quick}
    return nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execute", action="store_true",
                        help="run the notebooks and save their outputs")
    parser.add_argument("names", nargs="*", help="notebooks to build (default: both)")
    args = parser.parse_args()
    for name, nb in build().items():
        if args.names and name not in args.names:
            continue
        if args.execute:
            print(f"executing {name} (quick={os.environ.get('SKNOISY_NOTEBOOK_QUICK', '0')})")
            execute(nb)
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
