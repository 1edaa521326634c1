"""scikit-learn's estimator checks over every sknoisy classifier (fast settings)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from ._instances import CLASSIFIERS, expected_failed_checks


@parametrize_with_checks(CLASSIFIERS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
