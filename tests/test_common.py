"""scikit-learn's estimator checks over every sknoisy classifier (fast settings)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from ._instances import CLASSIFIERS, EXPECTED_FAILED_CHECKS


def _expected_failures(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(CLASSIFIERS, expected_failed_checks=_expected_failures)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
