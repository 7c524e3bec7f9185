"""Training that continues across sessions: start, stop and evaluate one session's run (issue 22).

Each session trains the default model further from the best weights so far (the shipped model), one command each:

    python scripts/train_session.py start RUN --bank BANK --hours 1.5   # in the background, under nice
    python scripts/train_session.py stop RUN                             # SIGTERM: checkpoints stay as written
    python scripts/train_session.py evaluate RUN --bank BANK --cache PANEL --s1 S1_MNI_T1W --masks MASKS

``start`` runs ``lesionkit train BANK -o RUN --config <preset> --init <shipped> --time-limit`` (the preset of the
shipped model's grid, :func:`session_preset`, unless ``--config`` names one; ``--init`` another start) under
``nice -n 10`` (interactive work preempts it) and returns; the run stops by itself when its time is spent, after the
epoch it runs out in. ``evaluate`` exports ``best.pt`` and the last cosine-cycle snapshot (threshold and minimum
lesion size calibrated on the run's validation split, float16), scores them and the shipped model on the fixed
panel (``benchmarks/segmentation_panel.py``) and prints one JSON line per model and set; with ``--promote`` every
candidate gets a row in ``docs/training_ledger.tsv`` (``shipped`` yes/no), and the winner replaces
``src/lesionkit/data/lesionkit_default_model.pt`` only when it beats the shipped model (:func:`beats`).
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
sys.path.insert(0, str(ROOT / "benchmarks"))
SHIPPED = ROOT / "src/lesionkit/data/lesionkit_default_model.pt"
PRESETS = ROOT / "src/lesionkit/model/presets"
LEDGER = ROOT / "docs/training_ledger.tsv"
LESIONED_SETS = ("realistic", "classic", "s1_painted", "s1_degraded")
LEDGER_COLUMNS = ("date", "run", "candidate", "steps", "train_hours", "bank", "panel_score", "realistic_dice",
                  "realistic_f1", "detected_lt100", "detected_100_500", "classic_dice", "s1_painted_dice",
                  "s1_degraded_dice", "s1_healthy_mm3", "shipped", "panel")


def session_preset(shipped: Path = SHIPPED) -> Path:
    """The session preset of ``shipped``'s working grid: each session continues the best weights so far on their own
    grid (``cpu_sessions_1mm.toml`` once a 1 mm model is shipped, ``cpu_sessions.toml`` for a 2 mm one)."""
    from lesionkit.model.checkpoint import read_checkpoint

    spacing = float(read_checkpoint(shipped)["spacing"][0])
    return PRESETS / ("cpu_sessions_1mm.toml" if spacing < 1.5 else "cpu_sessions.toml")


def start(run: Path, bank: Path, hours: float, threads: int, config: Path, init: Path = SHIPPED) -> None:
    run.mkdir(parents=True, exist_ok=True)
    command = ["nice", "-n", "10", sys.executable, "-m", "lesionkit", "train", str(bank), "-o", str(run),
               "--config", str(config), "--init", str(init), "--time-limit", str(int(hours * 3600)),
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


def panel_score(lines: list[dict]) -> float:
    """The mean of (Dice + lesion-wise F1) / 2 over the four lesioned sets (ATLAS ranks by both)."""
    by_set = {line["set"]: line for line in lines}
    return round(sum((by_set[s]["dice"] + by_set[s]["lesion_f1"]) / 2 for s in LESIONED_SETS) / len(LESIONED_SETS), 4)


def false_lesions(lines: list[dict]) -> tuple[float, float]:
    """(mm³ predicted on S1, false lesions per lesion-free realistic subject)."""
    by_set = {line["set"]: line for line in lines}
    return sum(by_set["s1_healthy"]["false_mm3_per_free"]), by_set["realistic"]["false_lesions_per_free"]


def beats(candidate: list[dict], shipped: list[dict]) -> bool:
    """A higher panel score, without more false lesions than the issue's limits (≤ 500 mm³ on S1, ≤ 0.2 per
    lesion-free realistic subject) or, where the shipped model is already past a limit, than the shipped model."""
    (s1, free), (s1_shipped, free_shipped) = false_lesions(candidate), false_lesions(shipped)
    return (panel_score(candidate) > panel_score(shipped) and s1 <= max(500.0, s1_shipped)
            and free <= max(0.2, free_shipped))


def _candidates(run: Path, bank: Path, which: str = "both") -> list[Path]:
    from lesionkit.model.checkpoint import read_checkpoint
    from lesionkit.model.export import export_model

    snapshots = sorted(run.glob("snapshot-*.pt"))
    sources = {"both": [run / "best.pt"] + snapshots[-1:], "best": [run / "best.pt"], "last": snapshots[-1:]}[which]
    epochs = [read_checkpoint(source)["provenance"]["metrics"].get("epoch") for source in sources]
    if len(sources) == 2 and epochs[0] == epochs[1]:
        sources = sources[1:]  # best.pt is the last snapshot: export and score it once
    out = []
    for source in sources:
        target = run / f"candidate-{source.stem}.pt"
        if not target.exists():
            export_model(source, target, bank, objective="dice_f1")
        out.append(target)
    return out


#: The panel's sets in two groups of about equal work (36 realistic subjects; 20 classic + 33 S1 cases).
SET_GROUPS = (["realistic"], ["classic", "s1_painted", "s1_degraded", "s1_healthy"])


def _panel(models: list[str], args: argparse.Namespace) -> list[dict]:
    """The panel's JSON lines of every model, two processes per model (one per group of sets), side by side on
    the cores."""
    from segmentation_panel import build_panel

    build_panel(args.cache, args.s1, args.masks)  # once, before the processes read it
    processes = [subprocess.Popen([sys.executable, str(ROOT / "benchmarks/segmentation_panel.py"), model,
                                   "--cache", str(args.cache), "--s1", str(args.s1), "--masks", str(args.masks),
                                   "--sets", *sets], stdout=subprocess.PIPE, text=True)
                 for model in models for sets in SET_GROUPS]
    lines = []
    for process in processes:
        out, _ = process.communicate()
        if process.returncode:
            raise SystemExit(f"segmentation_panel.py failed (exit {process.returncode})")
        lines += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return lines


def _steps(run: Path, candidate: Path) -> tuple[int, float]:
    """(optimiser steps behind ``candidate``, hours of training in the run): the steps from the checkpoint's own
    epoch, since a run stopped during validation never logs its last epoch."""
    from lesionkit.model.checkpoint import read_checkpoint

    provenance = read_checkpoint(candidate)["provenance"]
    with open(run / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    steps = int(provenance["metrics"]["epoch"]) * int(provenance["config"]["steps_per_epoch"])
    return steps, round(sum(float(r["seconds"]) for r in rows) / 3600, 2)


def evaluate(args: argparse.Namespace) -> None:
    candidates = _candidates(args.run, args.bank, args.candidates)
    shipped = [json.loads(line) for line in args.shipped.read_text().splitlines()] if args.shipped else []
    lines = shipped + _panel(["shipped"] * (not shipped) + [str(c) for c in candidates], args)
    for line in lines:
        print(json.dumps(line))
    of = {model: [line for line in lines if line["model"] == model] for model in ["shipped", *map(str, candidates)]}
    print(json.dumps({"panel_score": {model: panel_score(rows) for model, rows in of.items()},
                      "false_lesions": {model: false_lesions(rows) for model, rows in of.items()}}))
    winners = [m for m in map(str, candidates) if beats(of[m], of["shipped"])]
    best = max(winners, key=lambda m: panel_score(of[m])) if winners else None
    print(f"best candidate: {best or 'none'}; " + ("promote it" if best else "keep the shipped model"))
    if args.promote:  # every candidate gets its ledger row; only the winner replaces the shipped weights
        for candidate in map(str, candidates):
            _ledger_row(Path(candidate), args, of[candidate], shipped=candidate == best)
        if best:
            shutil.copyfile(best, SHIPPED)
            print(f"promoted {best} to {SHIPPED}")


def _ledger_row(candidate: Path, args: argparse.Namespace, lines: list[dict], shipped: bool) -> None:
    by_set = {line["set"]: line for line in lines}
    steps, hours = _steps(args.run, candidate)
    row = {"date": time.strftime("%Y-%m-%d"), "run": args.run.name, "candidate": candidate.name, "steps": steps,
           "train_hours": hours, "bank": str(args.bank), "panel_score": panel_score(lines),
           "realistic_dice": by_set["realistic"]["dice"], "realistic_f1": by_set["realistic"]["lesion_f1"],
           "detected_lt100": by_set["realistic"]["detected_lt100"],
           "detected_100_500": by_set["realistic"]["detected_100_500"], "classic_dice": by_set["classic"]["dice"],
           "s1_painted_dice": by_set["s1_painted"]["dice"], "s1_degraded_dice": by_set["s1_degraded"]["dice"],
           "s1_healthy_mm3": sum(by_set["s1_healthy"]["false_mm3_per_free"]), "shipped": "yes" if shipped else "no",
           "panel": lines[0].get("panel", "v1")}
    new = not LEDGER.exists()
    with open(LEDGER, "a", newline="") as handle:
        writer = csv.DictWriter(handle, LEDGER_COLUMNS, delimiter="\t")
        if new:
            writer.writeheader()
        writer.writerow(row)
    print(f"ledger row for {candidate.name} added to {LEDGER}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("start")
    p.add_argument("run", type=Path)
    p.add_argument("--bank", type=Path, required=True)
    p.add_argument("--hours", type=float, required=True, help="wall-clock budget of the run")
    p.add_argument("--threads", type=int, default=1, help="2 when the machine is the run's alone")
    p.add_argument("--config", type=Path, help="training preset (default: the one of the shipped model's grid, "
                   "cpu_sessions.toml for 2 mm, cpu_sessions_1mm.toml for 1 mm; cpu_sessions_1mm.toml on a 2 mm "
                   "shipped model starts the 1 mm strided twin from its weights)")
    p.add_argument("--init", type=Path, default=SHIPPED, help="weights to start from (default: the shipped model; "
                   "e.g. an earlier run's best.pt that tied it on the panel)")
    p = sub.add_parser("stop")
    p.add_argument("run", type=Path)
    p = sub.add_parser("evaluate")
    p.add_argument("run", type=Path)
    p.add_argument("--bank", type=Path, required=True)
    p.add_argument("--cache", type=Path, required=True)
    p.add_argument("--s1", type=Path, required=True)
    p.add_argument("--masks", type=Path, required=True)
    p.add_argument("--shipped", type=Path, help="the shipped model's panel lines from an earlier run (same cache)")
    p.add_argument("--candidates", choices=("both", "best", "last"), default="both",
                   help="export and score best.pt, the last cycle's snapshot, or both (default)")
    p.add_argument("--promote", action="store_true")
    args = parser.parse_args()
    if args.command == "start":
        config = session_preset() if args.config is None else (
            args.config if args.config.exists() else PRESETS / args.config)
        start(args.run, args.bank, args.hours, args.threads, config, args.init)
    elif args.command == "stop":
        stop(args.run)
    else:
        evaluate(args)


if __name__ == "__main__":
    main()
