"""Training that continues across sessions: start, stop and evaluate one session's run (issue 22).

Each session trains the default model further from the best weights so far (the shipped model), one command each:

    python scripts/train_session.py start RUN --bank BANK --hours 1.5   # in the background, under nice
    python scripts/train_session.py stop RUN                             # SIGTERM: checkpoints stay as written
    python scripts/train_session.py evaluate RUN --bank BANK --cache PANEL --s1 S1_MNI_T1W --masks MASKS

``start`` runs ``lesionkit train BANK -o RUN --config cpu_sessions.toml --init <shipped> --time-limit`` under
``nice -n 10`` (interactive work preempts it) and returns; the run stops by itself when its time is spent, after the
epoch it runs out in. ``evaluate`` exports ``best.pt`` and the last cosine-cycle snapshot (threshold and minimum
lesion size calibrated on the run's validation split, float16), scores them and the shipped model on the fixed
panel (``benchmarks/segmentation_panel.py``) and prints one JSON line per model and set; with ``--promote`` the
winner replaces ``src/lesionkit/data/lesionkit_default_model.pt`` and a row is added to
``docs/training_ledger.tsv``, only when it beats the shipped model (:func:`panel_score`, guards included).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "src/lesionkit/data/lesionkit_default_model.pt"
PRESET = ROOT / "src/lesionkit/model/presets/cpu_sessions.toml"
LEDGER = ROOT / "docs/training_ledger.tsv"
LESIONED_SETS = ("realistic", "classic", "s1_painted", "s1_degraded")
LEDGER_COLUMNS = ("date", "run", "candidate", "steps", "train_hours", "bank", "panel_score", "realistic_dice",
                  "realistic_f1", "detected_lt100", "detected_100_500", "classic_dice", "s1_painted_dice",
                  "s1_degraded_dice", "s1_healthy_mm3", "shipped")


def start(run: Path, bank: Path, hours: float, threads: int) -> None:
    run.mkdir(parents=True, exist_ok=True)
    command = ["nice", "-n", "10", sys.executable, "-m", "lesionkit", "train", str(bank), "-o", str(run),
               "--config", str(PRESET), "--init", str(SHIPPED), "--time-limit", str(int(hours * 3600)),
               "--threads", str(threads), "--no-progress"]
    with open(run / "train.log", "a") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (run / "pid").write_text(str(process.pid))
    print(f"training in the background (pid {process.pid}); log: {run / 'train.log'}")


def stop(run: Path) -> None:
    pid = int((run / "pid").read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        print("the run had already stopped")
        return
    while Path(f"/proc/{pid}").exists():
        time.sleep(1)
    print(f"stopped; checkpoints in {run}")


def panel_score(lines: list[dict]) -> tuple[float, bool]:
    """(score, guards hold): the mean of (Dice + lesion-wise F1) / 2 over the four lesioned sets; the guards are
    the issue's false-lesion limits (≤ 500 mm³ on S1, ≤ 0.2 false lesions per lesion-free realistic subject)."""
    by_set = {line["set"]: line for line in lines}
    score = sum((by_set[s]["dice"] + by_set[s]["lesion_f1"]) / 2 for s in LESIONED_SETS) / len(LESIONED_SETS)
    guards = (sum(by_set["s1_healthy"]["false_mm3_per_free"]) <= 500
              and by_set["realistic"]["false_lesions_per_free"] <= 0.2)
    return round(score, 4), guards


def _candidates(run: Path, bank: Path) -> list[Path]:
    from lesionkit.model.export import export_model

    snapshots = sorted(run.glob("snapshot-*.pt"))
    sources = [run / "best.pt"] + snapshots[-1:]
    out = []
    for source in sources:
        target = run / f"candidate-{source.stem}.pt"
        if not target.exists():
            export_model(source, target, bank)
        out.append(target)
    return out


def _panel(models: list[str], args: argparse.Namespace) -> list[dict]:
    command = [sys.executable, str(ROOT / "benchmarks/segmentation_panel.py"), *models, "--cache", str(args.cache),
               "--s1", str(args.s1), "--masks", str(args.masks)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _steps(run: Path) -> tuple[int, float]:
    with open(run / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    return int(rows[-1]["step"]), round(sum(float(r["seconds"]) for r in rows) / 3600, 2)


def evaluate(args: argparse.Namespace) -> None:
    candidates = _candidates(args.run, args.bank)
    lines = _panel(["shipped", *map(str, candidates)], args)
    for line in lines:
        print(json.dumps(line))
    scores = {model: panel_score([line for line in lines if line["model"] == model])
              for model in ["shipped", *map(str, candidates)]}
    print(json.dumps({"panel_score": scores}))
    best = max(map(str, candidates), key=lambda m: (scores[m][1], scores[m][0]))
    wins = scores[best][1] and scores[best][0] > scores["shipped"][0]
    print(f"best candidate {best}: {scores[best]}, shipped {scores['shipped']}: "
          f"{'better, promote it' if wins else 'not better, keep the shipped model'}")
    if args.promote and wins:
        _promote(Path(best), args, [line for line in lines if line["model"] == best], scores[best][0])


def _promote(candidate: Path, args: argparse.Namespace, lines: list[dict], score: float) -> None:
    by_set = {line["set"]: line for line in lines}
    steps, hours = _steps(args.run)
    row = {"date": time.strftime("%Y-%m-%d"), "run": args.run.name, "candidate": candidate.name, "steps": steps,
           "train_hours": hours, "bank": str(args.bank), "panel_score": score,
           "realistic_dice": by_set["realistic"]["dice"], "realistic_f1": by_set["realistic"]["lesion_f1"],
           "detected_lt100": by_set["realistic"]["detected_lt100"],
           "detected_100_500": by_set["realistic"]["detected_100_500"], "classic_dice": by_set["classic"]["dice"],
           "s1_painted_dice": by_set["s1_painted"]["dice"], "s1_degraded_dice": by_set["s1_degraded"]["dice"],
           "s1_healthy_mm3": sum(by_set["s1_healthy"]["false_mm3_per_free"]), "shipped": "yes"}
    new = not LEDGER.exists()
    with open(LEDGER, "a", newline="") as handle:
        writer = csv.DictWriter(handle, LEDGER_COLUMNS, delimiter="\t")
        if new:
            writer.writeheader()
        writer.writerow(row)
    shutil.copyfile(candidate, SHIPPED)
    print(f"promoted {candidate} to {SHIPPED}; ledger row added to {LEDGER}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("start")
    p.add_argument("run", type=Path)
    p.add_argument("--bank", type=Path, required=True)
    p.add_argument("--hours", type=float, required=True, help="wall-clock budget of the run")
    p.add_argument("--threads", type=int, default=1, help="2 when the machine is the run's alone")
    p = sub.add_parser("stop")
    p.add_argument("run", type=Path)
    p = sub.add_parser("evaluate")
    p.add_argument("run", type=Path)
    p.add_argument("--bank", type=Path, required=True)
    p.add_argument("--cache", type=Path, required=True)
    p.add_argument("--s1", type=Path, required=True)
    p.add_argument("--masks", type=Path, required=True)
    p.add_argument("--promote", action="store_true")
    args = parser.parse_args()
    if args.command == "start":
        start(args.run, args.bank, args.hours, args.threads)
    elif args.command == "stop":
        stop(args.run)
    else:
        evaluate(args)


if __name__ == "__main__":
    main()
