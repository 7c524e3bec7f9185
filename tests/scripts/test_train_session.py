"""scripts/train_session.py: the rule that promotes a session's weights, and the preset each session starts with."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from lesionkit.model import save_checkpoint
from lesionkit.model.networks import NetworkConfig, build_network

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_session.py"
spec = importlib.util.spec_from_file_location("train_session", SCRIPT)
session = importlib.util.module_from_spec(spec)
spec.loader.exec_module(session)


def _lines(score: float, s1_mm3: float = 0.0, free: float = 0.0) -> list[dict]:
    lines = [{"set": name, "dice": score, "lesion_f1": score} for name in session.LESIONED_SETS]
    lines[0]["false_lesions_per_free"] = free
    return lines + [{"set": "s1_healthy", "false_mm3_per_free": [s1_mm3]}]


def test_panel_score_is_the_mean_of_dice_and_f1_over_the_lesioned_sets():
    lines = _lines(0.5)
    lines[1]["lesion_f1"] = 0.9  # classic: (0.5 + 0.9) / 2 = 0.7
    assert session.panel_score(lines) == round((0.5 * 3 + 0.7) / 4, 4)


def test_a_candidate_is_promoted_only_with_a_higher_score_and_no_more_false_lesions_than_allowed():
    shipped = _lines(0.50, free=0.6)
    assert session.beats(_lines(0.52, free=0.6), shipped)
    assert not session.beats(_lines(0.50, free=0.0), shipped)  # equal is not better
    assert not session.beats(_lines(0.52, s1_mm3=600.0), shipped)  # past the 500 mm³ limit on S1
    assert session.beats(_lines(0.52, s1_mm3=400.0), shipped)
    assert not session.beats(_lines(0.52, free=0.8), shipped)  # more false lesions than the shipped model's 0.6
    assert not session.beats(_lines(0.52, free=0.3), _lines(0.50, free=0.1))  # past the 0.2 limit


def test_each_session_starts_with_the_preset_of_the_shipped_models_grid(tmp_path):
    config = NetworkConfig(widths=[4, 8])
    network = build_network(config)
    coarse = save_checkpoint(tmp_path / "coarse.pt", network, config, spacing=(2.0, 2.0, 2.0))
    fine = save_checkpoint(tmp_path / "fine.pt", network, config, spacing=(1.0, 1.0, 1.0))
    assert session.session_preset(coarse).name == "cpu_sessions.toml"
    assert session.session_preset(fine).name == "cpu_sessions_1mm.toml"
    assert session.session_preset(session.SHIPPED).exists()


def test_best_and_last_snapshot_of_one_epoch_are_exported_once(tmp_path, monkeypatch):
    import lesionkit.model.export

    config = NetworkConfig(widths=[4, 8])
    network = build_network(config)
    for name, epoch in (("snapshot-0020.pt", 20), ("snapshot-0040.pt", 40), ("best.pt", 40)):
        save_checkpoint(tmp_path / name, network, config, provenance={"metrics": {"epoch": epoch}})
    exported = []

    def export(source, target, *args, **kwargs):
        exported.append(source)
        target.write_bytes(b"")

    monkeypatch.setattr(lesionkit.model.export, "export_model", export)
    assert [p.name for p in session._candidates(tmp_path, tmp_path)] == ["candidate-snapshot-0040.pt"]
    save_checkpoint(tmp_path / "best.pt", network, config, provenance={"metrics": {"epoch": 20}})
    assert [p.name for p in session._candidates(tmp_path, tmp_path)] == ["candidate-best.pt",
                                                                         "candidate-snapshot-0040.pt"]
    assert [p.name for p in exported] == ["snapshot-0040.pt", "best.pt"]  # the second call reuses snapshot 40's


def test_start_trains_from_the_shipped_weights_unless_told_another_start(tmp_path, monkeypatch):
    commands = []

    class Process:
        pid = 12345

        def __init__(self, command, **kwargs):
            commands.append(command)

    monkeypatch.setattr(session.subprocess, "Popen", Process)
    preset = session.PRESETS / "cpu_sessions_1mm.toml"
    session.start(tmp_path / "a", tmp_path / "bank", 0.5, 2, preset)
    session.start(tmp_path / "b", tmp_path / "bank", 0.5, 2, preset, tmp_path / "tied.pt")
    for command, init in zip(commands, (session.SHIPPED, tmp_path / "tied.pt"), strict=True):
        assert command[:3] == ["nice", "-n", "10"]
        assert command[command.index("--init") + 1] == str(init)
        assert command[command.index("--config") + 1] == str(preset)
        assert command[command.index("--time-limit") + 1] == "1800"
    assert (tmp_path / "b" / "pid").read_text() == "12345"
