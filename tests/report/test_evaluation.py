import numpy as np
import pandas as pd

from lesionkit.metrics.aggregate import size_quartiles, summarize
from lesionkit.report.evaluation import render_evaluation_report, write_evaluation_report
from lesionkit.report.plots import dice_vs_volume, metric_distributions


def _rows():
    rng = np.random.default_rng(0)
    n = 12
    rows = pd.DataFrame(
        {
            "case_id": [f"sub-{i:02d}" for i in range(n)],
            "cohort": ["R001", "R002"] * (n // 2),
            "truth_volume": np.r_[0.0, 10 ** rng.uniform(1, 5, n - 1)],
            "dice": rng.uniform(0, 1, n),
            "hd95": np.r_[np.inf, rng.uniform(1, 30, n - 1)],
            "tpr": np.r_[np.nan, rng.uniform(0, 1, n - 1)],
            "prediction": ["missing"] + ["x.nii.gz"] * (n - 1),
        }
    )
    rows["pred_volume"] = rows["truth_volume"] * 0.9
    rows["overlap_volume"] = rows["truth_volume"] * 0.8
    rows["size_quartile"] = size_quartiles(rows["truth_volume"])
    return rows


def test_report_is_self_contained_and_complete(tmp_path):
    rows = _rows()
    summary = summarize(rows, metrics=("dice", "hd95", "tpr"), n_resamples=50, strata=("size_quartile", "cohort"))
    summary["missing_predictions"], summary["extra_predictions"] = ["sub-00"], ["sub-zz"]
    html = render_evaluation_report(rows, summary)
    assert html.count("data:image/png;base64,") == 2
    assert "src='http" not in html and "<script" not in html  # nothing fetched from elsewhere
    for text in ("Missing predictions", "sub-00", "sub-zz", "Strata", "Q4", "R002", "finite-only mean"):
        assert text in html
    path = write_evaluation_report(rows, summary, tmp_path / "r" / "report.html")
    assert path.read_text() == html


def test_dice_plot_uses_a_log_volume_axis_and_skips_empty_truths():
    fig = dice_vs_volume(_rows())
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert "1 with no true lesion" in ax.get_title()
    drawn = sum(len(c.get_offsets()) for c in ax.collections)
    assert drawn == 11  # 12 cases minus the empty truth (the missing prediction has an empty truth here)


def test_distribution_panels_note_inf_and_undefined():
    fig = metric_distributions(_rows(), ["dice", "hd95", "tpr", "not_there"])
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "1 inf" in texts and "1 undefined" in texts
    assert [ax.get_title() for ax in fig.axes[:3]] == ["Dice", "HD95 (mm)", "TPR"]


def test_the_risk_coverage_figure_draws_the_score_and_its_peers():
    from lesionkit.qc.curves import risk_coverage
    from lesionkit.report.plots import risk_coverage_curve

    dice = np.linspace(0, 1, 20)
    result = risk_coverage(1 - dice, dice, dice < 0.5, points=20)
    ax = risk_coverage_curve(result).axes[0]
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [label.split(":")[0] for label in labels] == ["QC score", "random flags", "oracle (true Dice)"]
    assert "40 % of 10 failures caught" in " ".join(t.get_text() for t in ax.texts)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata()[0], dice.mean(), atol=1e-3)
