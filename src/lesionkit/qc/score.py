"""One QC score in [0, 1] (higher = more likely a failed segmentation), a flag and the reasons.

The score is a logistic regression on the inputs of :data:`INPUTS` (each derived from the features of
:mod:`lesionkit.qc.features` and :mod:`lesionkit.qc.cohort`), standardised by the fit's means and
scales; an undefined input (NaN: no members recorded, an empty mask's entropy, a cohort too small for
outliers) contributes nothing. Its weights are fitted (:func:`lesionkit.qc.fit.fit_weights`,
``benchmarks/qc_fit.py``) on synthetic cohorts with known truth, the failures being Dice < 0.5 on a
lesioned subject or more than 500 mm³ of false positive on a lesion-free one, and ship in
``lesionkit/data/qc_weights.json`` with the seeds, model and command that produced them.

A case is flagged ``check`` when its score reaches the weights' ``flag_threshold``, or by a rule that no
synthetic cohort can fit (they are all on the MNI grid already): a native scan whose registration fell
back to the rigid start, or whose brain NCC with the template is under :data:`MIN_REGISTRATION_NCC`
(right poses score 0.64–0.95, wrong ones at most 0.61 on ``benchmarks/preprocess_accuracy.py``). Such a
case's score is raised to at least :data:`RULE_SCORE`.

Reasons name the inputs that raise the score by at least :data:`REASON_LOGIT` (in logit units, the
weight times the standardised input), largest first, in words with the value: ``flip members disagree
(Dice 0.41)``, ``volume outlier (z=+3.2)``.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from lesionkit.typing import PathLike

__all__ = [
    "FLAGS",
    "INPUTS",
    "MIN_REGISTRATION_NCC",
    "QCResult",
    "QCWeights",
    "default_weights",
    "load_weights",
    "score_case",
]

FLAGS = ("ok", "check")
MIN_REGISTRATION_NCC = 0.7
RULE_SCORE = 0.9
REASON_LOGIT = 0.5
WEIGHTS_FORMAT = "lesionkit-qc-weights-1"
NAN = float("nan")


def _get(features: Mapping[str, Any], name: str) -> float:
    value = features.get(name)
    try:
        return float(value) if value is not None else NAN
    except (TypeError, ValueError):
        return NAN


def _log10p(x: float) -> float:
    return math.log10(1 + max(x, 0.0)) if math.isfinite(x) else NAN


#: Score inputs: name → how it is derived from the features (NaN when undefined).
INPUTS: dict[str, Callable[[Mapping[str, Any]], float]] = {
    "member_disagreement": lambda f: 1.0 - _get(f, "member_dice"),
    "member_volume_cv": lambda f: min(_get(f, "member_volume_cv"), 2.0),
    "entropy_lesion": lambda f: _get(f, "entropy_lesion"),
    "entropy_shell": lambda f: _get(f, "entropy_shell"),
    "log_volume": lambda f: _log10p(_get(f, "volume_mm3")),
    "empty": lambda f: float(_get(f, "volume_mm3") == 0) if math.isfinite(_get(f, "volume_mm3")) else NAN,
    "log_lesions": lambda f: math.log1p(_get(f, "n_lesions")) if _get(f, "n_lesions") >= 0 else NAN,
    "log_faint": lambda f: _log10p(_get(f, "faint_mm3")),
    "edge_share": lambda f: _get(f, "edge_share"),
    "outside_share": lambda f: _get(f, "outside_share"),
    "ventricle_share": lambda f: _get(f, "ventricle_share"),
    "template_dissimilarity": lambda f: 1.0 - _get(f, "template_ncc"),
    # the input's quality: noise (−log10 of the white-matter SNR), flat contrast, thick slices
    "image_noise": lambda f: -math.log10(_get(f, "snr_wm")) if _get(f, "snr_wm") > 0 else NAN,
    "flat_contrast": lambda f: _get(f, "gm_wm_contrast"),
    "thick_slices": lambda f: math.log2(min(_get(f, "slice_thickness_mm"), 16.0)) if _get(f, "slice_thickness_mm") > 0
    else NAN,
    # the cohort parts by direction: far more lesion than the cohort is not the same evidence as far less
    "volume_high": lambda f: min(max(_get(f, "volume_z"), 0.0), 6.0),
    "volume_low": lambda f: min(max(-_get(f, "volume_z"), 0.0), 6.0),
    "count_high": lambda f: min(max(_get(f, "count_z"), 0.0), 6.0),
}


def input_values(features: Mapping[str, Any]) -> dict[str, float]:
    """Every input of :data:`INPUTS` for one case's features (NaN where undefined)."""
    values = {}
    for name, derive in INPUTS.items():
        try:
            values[name] = float(derive(features))
        except (TypeError, ValueError):
            values[name] = NAN
    return values


def _reason(name: str, f: Mapping[str, Any], above_mean: bool) -> str:
    """The reason, in words with the value, that input ``name`` raises the score."""
    volume, share = _get(f, "volume_mm3"), "{:.0%} of its voxels"
    members = _get(f, "members")
    if name == "member_disagreement":
        who = "flip members" if members == 2 else "members"
        return f"{who} disagree (Dice {_get(f, 'member_dice'):.2f})"
    if name == "member_volume_cv":
        return f"member volumes differ (CV {_get(f, 'member_volume_cv'):.2f})"
    if name == "entropy_lesion":
        return f"uncertain inside the lesion (entropy {_get(f, 'entropy_lesion'):.2f} bits)"
    if name == "entropy_shell":
        return f"blurred lesion boundary (entropy {_get(f, 'entropy_shell'):.2f} bits)"
    if name == "log_volume":
        return f"{'large' if above_mean else 'small'} predicted volume ({volume:,.0f} mm³)"
    if name == "empty":
        return "no lesion found" if volume == 0 else f"a lesion found ({volume:,.0f} mm³)"
    if name == "log_lesions":
        return f"{'many' if above_mean else 'few'} lesions ({_get(f, 'n_lesions'):.0f})"
    if name == "log_faint":
        return f"faint lesion-like signal under the threshold ({_get(f, 'faint_mm3'):,.0f} mm³)"
    if name == "edge_share":
        return "lesion at the brain edge (" + share.format(_get(f, "edge_share")) + ")"
    if name == "outside_share":
        return "lesion outside the brain (" + share.format(_get(f, "outside_share")) + ")"
    if name == "ventricle_share":
        return "lesion at the ventricles (" + share.format(_get(f, "ventricle_share")) + ")"
    if name == "template_dissimilarity":
        return f"image unlike the template (correlation {_get(f, 'template_ncc'):.2f})"
    if name == "image_noise":
        return f"noisy image (white-matter SNR {_get(f, 'snr_wm'):.1f})"
    if name == "flat_contrast":
        return f"flat grey/white contrast (GM/WM {_get(f, 'gm_wm_contrast'):.2f})"
    if name == "thick_slices":
        return f"thick slices (about {_get(f, 'slice_thickness_mm'):.1f} mm)"
    if name in ("volume_high", "volume_low"):
        return f"volume outlier (z={_get(f, 'volume_z'):+.1f})"
    if name == "count_high":
        return f"lesion-count outlier (z={_get(f, 'count_z'):+.1f})"
    return name


@dataclass(frozen=True)
class QCWeights:
    """A fitted score: per input its mean, scale and weight; the intercept and the flag threshold."""

    intercept: float
    weights: dict[str, float]
    means: dict[str, float]
    scales: dict[str, float]
    flag_threshold: float
    fit: dict[str, Any] = field(default_factory=dict)
    """How the weights were fitted (seeds, cohorts, model hash, command, quality on the fit cohorts)."""

    def as_dict(self) -> dict[str, Any]:
        inputs = {name: {"weight": self.weights[name], "mean": self.means[name], "scale": self.scales[name]}
                  for name in self.weights}
        return {"format": WEIGHTS_FORMAT, "intercept": self.intercept, "flag_threshold": self.flag_threshold,
                "inputs": inputs, "fit": self.fit}

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> QCWeights:
        if payload.get("format") != WEIGHTS_FORMAT:
            raise ValueError(f"not a {WEIGHTS_FORMAT} file (format {payload.get('format')!r})")
        inputs = payload["inputs"]
        unknown = set(inputs) - set(INPUTS)
        if unknown:
            raise ValueError(f"unknown QC inputs {sorted(unknown)}")
        return cls(
            intercept=float(payload["intercept"]),
            weights={k: float(v["weight"]) for k, v in inputs.items()},
            means={k: float(v["mean"]) for k, v in inputs.items()},
            scales={k: float(v["scale"]) for k, v in inputs.items()},
            flag_threshold=float(payload["flag_threshold"]),
            fit=dict(payload.get("fit") or {}),
        )

    def contributions(self, features: Mapping[str, Any]) -> dict[str, float]:
        """Each input's term of the logit (0 where the input is undefined)."""
        values = input_values(features)
        out = {}
        for name, weight in self.weights.items():
            x = values.get(name, NAN)
            out[name] = 0.0 if not math.isfinite(x) else weight * (x - self.means[name]) / self.scales[name]
        return out


def load_weights(path: PathLike) -> QCWeights:
    """Read a weights JSON file (:meth:`QCWeights.as_dict`)."""
    return QCWeights.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=1)
def default_weights() -> QCWeights:
    """The shipped weights (``lesionkit/data/qc_weights.json``)."""
    text = (resources.files("lesionkit") / "data" / "qc_weights.json").read_text(encoding="utf-8")
    return QCWeights.from_dict(json.loads(text))


@dataclass(frozen=True)
class QCResult:
    """One case's verdict."""

    score: float
    flag: str
    """``ok`` or ``check``."""
    reasons: list[str]


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def score_case(features: Mapping[str, Any], weights: QCWeights | None = None) -> QCResult:
    """Score, flag and reasons of one case from its features (per-case and, when known, cohort ones)."""
    weights = weights or default_weights()
    contributions = weights.contributions(features)
    score = _sigmoid(weights.intercept + sum(contributions.values()))
    values = input_values(features)
    ranked = sorted(((c, n) for n, c in contributions.items() if c > 0), reverse=True)
    reasons = [_reason(n, features, values[n] > weights.means[n]) for c, n in ranked if c >= REASON_LOGIT]
    flag = "check" if score >= weights.flag_threshold else "ok"
    if flag == "check" and not reasons and ranked:
        reasons = [_reason(ranked[0][1], features, values[ranked[0][1]] > weights.means[ranked[0][1]])]
    rules = []
    if _get(features, "registration_fallback") == 1:
        rules.append("registration fell back to the rigid start (check the registration figure)")
    if _get(features, "expect_lesion") == 1 and _get(features, "volume_mm3") == 0:
        rules.append("no lesion found, though every subject is expected to have one")
    ncc = _get(features, "registration_ncc")
    if math.isfinite(ncc) and ncc < MIN_REGISTRATION_NCC:
        rules.append(f"registration poor (brain NCC {ncc:.2f})")
    if rules:
        flag, score, reasons = "check", max(score, RULE_SCORE), rules + reasons
    return QCResult(round(score, 4), flag, reasons)
