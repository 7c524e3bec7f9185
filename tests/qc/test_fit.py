import numpy as np

from lesionkit.qc.fit import fit_weights
from lesionkit.qc.score import score_case


def _cases(n, seed):
    rng = np.random.default_rng(seed)
    failures = rng.random(n) < 0.3
    cases = []
    for failed in failures:
        dice = rng.uniform(0.0, 0.5) if failed else rng.uniform(0.7, 1.0)
        cases.append({"member_dice": dice, "members": 2.0, "volume_mm3": float(rng.lognormal(8, 1)),
                      "entropy_lesion": float(rng.uniform(0.1, 0.6)), "edge_share": float("nan")})
    return cases, failures


def test_the_fit_finds_the_informative_input_and_its_threshold_catches_the_failures():
    cases, failures = _cases(80, 0)
    weights = fit_weights(cases, failures, fit={"seeds": [1]})
    assert weights.weights["member_disagreement"] > 1.0
    assert abs(weights.weights["member_disagreement"]) > 3 * max(abs(w) for n, w in weights.weights.items()
                                                                  if n != "member_disagreement")
    assert "edge_share" not in weights.weights  # undefined everywhere: no weight
    assert weights.fit["seeds"] == [1] and weights.fit["id"].startswith("qc-") and weights.fit["cases"] == 80
    flagged = np.array([score_case(c, weights).flag == "check" for c in cases])
    assert flagged[failures].mean() >= 0.8  # the threshold's recall on the fit cases
    new_cases, new_failures = _cases(60, 1)
    new_flags = np.array([score_case(c, weights).flag == "check" for c in new_cases])
    assert new_flags[new_failures].mean() > 0.7 and new_flags[~new_failures].mean() < 0.3


def test_the_fit_is_deterministic():
    cases, failures = _cases(40, 2)
    assert fit_weights(cases, failures) == fit_weights(cases, failures)


def test_choose_c_cross_validates_on_the_fit_cases_only():
    from lesionkit.qc.fit import choose_c

    cases, failures = _cases(40, 3)
    dice = [c["member_dice"] for c in cases]  # here the truth's Dice follows the members' agreement
    best, results = choose_c(cases, failures, dice, c_values=(0.1, 1.0))
    assert best in (0.1, 1.0) and set(results) == {"0.1", "1"}
    assert results[f"{best:g}"]["aurc"] == min(r["aurc"] for r in results.values())
    assert all(r["caught_at_20pct"] > 0.2 for r in results.values())  # better than random flags


def test_without_sign_constraints_the_fit_is_scikit_learns_logistic_regression(monkeypatch):
    from sklearn.linear_model import LogisticRegression

    import lesionkit.qc.fit as fit

    cases, failures = _cases(60, 4)
    for case, failed in zip(cases, failures, strict=True):
        case["edge_share"] = 0.5 if failed else 0.1
    monkeypatch.setattr(fit, "FREE_SIGN", tuple(fit.INPUTS))
    weights = fit.fit_weights(cases, failures, C=0.5)
    names = list(weights.weights)
    x = np.array([[fit.input_values(c)[n] for n in names] for c in cases])
    z = (x - [weights.means[n] for n in names]) / [weights.scales[n] for n in names]
    reference = LogisticRegression(C=0.5, class_weight="balanced", max_iter=10_000, tol=1e-10).fit(z, failures)
    np.testing.assert_allclose([weights.weights[n] for n in names], reference.coef_[0], atol=2e-3)
    assert abs(weights.intercept - reference.intercept_[0]) < 2e-3


def test_evidence_weights_are_never_negative():
    from lesionkit.qc.fit import FREE_SIGN

    cases, failures = _cases(80, 5)
    for case, failed in zip(cases, failures, strict=True):
        case["edge_share"] = 0.0 if failed else 0.3  # evidence that points the wrong way in this sample
    weights = fit_weights(cases, failures)
    assert weights.weights["edge_share"] == 0.0
    assert all(w >= 0 for n, w in weights.weights.items() if n not in FREE_SIGN)
