import csv
import socket

import numpy as np
import pytest
import torch

import lesionkit.model.train as train_module
from lesionkit.core import binarize_probability, dice
from lesionkit.io.errors import InvalidInputError
from lesionkit.model import load_config, load_model, predict_array, save_checkpoint
from lesionkit.model.train import train


def _tiny_config(**overrides):
    values = {
        "network": {"widths": [8, 16], "stem_stride": 1},
        "zoom_in": {"epochs": 2, "crop": [16, 16, 16], "lr": 1e-2, "cycle_epochs": 1, "batch_size": 2},
        "zoom_out": {"epochs": 1, "crop": [24, 24, 24], "lr": 1e-3, "cycle_epochs": 1},
        "steps_per_epoch": 2,
        "lesion_fraction": 0.5,
        "val_fraction": 0.0,
        "tensorboard": False,
        "roi_size": [16, 16, 16],
    }
    for key, value in overrides.items():
        values[key] = {**values[key], **value} if isinstance(value, dict) else value
    return load_config(overrides=values)


def _weights(path):
    return load_model(path).networks[0].state_dict()


def test_training_writes_checkpoints_logs_and_snapshots(tiny_cohort, tmp_path):
    config = _tiny_config(val_fraction=0.4, val_every=1)
    best = train(config, tiny_cohort, tmp_path / "run", progress=False)
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert best.name == "best.pt" and best.exists()
    # one snapshot per cosine cycle: zoom-in cycles end at epochs 1 and 2, zoom-out at 3
    assert {"snapshot-0001.pt", "snapshot-0002.pt", "snapshot-0003.pt", "final.pt", "last.pt", "log.csv"} <= names
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert [r["stage"] for r in rows] == ["zoom_in", "zoom_in", "zoom_out"]
    assert all(r["val_dice"] != "" and r["val_f1"] != "" for r in rows)
    model = load_model(best)
    assert model.provenance["training_data"]["n_val"] == 1
    # best.pt is the epoch with the highest validation Dice in the log (the first of equals), and says so
    scores = [float(r["val_dice"]) for r in rows]
    best_epoch = scores.index(max(scores)) + 1
    assert model.provenance["metrics"]["val_dice"] == pytest.approx(max(scores), abs=1e-4)
    assert model.provenance["metrics"]["epoch"] == best_epoch


@pytest.mark.parametrize("schedule", [{}, {"zoom_in": {"warmup_steps": 3}, "clip_grad_norm": 0.5}],
                         ids=["paper", "warm-up-and-clipping"])
def test_resume_reproduces_the_uninterrupted_run(tiny_cohort, tmp_path, monkeypatch, schedule):
    config = _tiny_config(augment=1.0, **schedule)
    train(config, tiny_cohort, tmp_path / "straight", progress=False)

    real_save = train_module._save_state

    def save_then_crash(path, model, optimizer, scheduler, epoch, stage, best):
        real_save(path, model, optimizer, scheduler, epoch, stage, best)
        if epoch == 2:  # killed after the checkpoint of epoch 2, before the zoom-out stage
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "_save_state", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        train(config, tiny_cohort, tmp_path / "resumed", progress=False)
    assert not (tmp_path / "resumed" / "final.pt").exists()
    monkeypatch.setattr(train_module, "_save_state", real_save)
    train(config, tiny_cohort, tmp_path / "resumed", resume=True, progress=False)

    straight, resumed = _weights(tmp_path / "straight" / "final.pt"), _weights(tmp_path / "resumed" / "final.pt")
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key
    fresh = _weights(tmp_path / "straight" / "snapshot-0001.pt")
    assert any(not torch.equal(fresh[k], straight[k]) for k in straight)  # the comparison is not vacuous


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    import os

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    built, original = [], train_module.build_network  # rank 1 writes no checkpoint: keep the network train() builds

    def build(config):
        built.append(original(config))
        return built[-1]

    train_module.build_network = build
    try:
        train(_tiny_config(deterministic=True, threads=1), data, out, progress=False)
    finally:
        train_module.build_network = original
    torch.save(built[0].state_dict(), f"{out}/rank{rank}.pt")
    torch.distributed.destroy_process_group()


def test_two_process_cpu_ddp_matches_one_process_with_the_same_global_batch(tiny_cohort, tmp_path):
    import torch.multiprocessing as mp

    out = tmp_path / "ddp"
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tiny_cohort), str(out)), nprocs=2, join=True)
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert len(rows) == 3  # only rank 0 logs
    rank0, rank1 = torch.load(out / "rank0.pt"), torch.load(out / "rank1.pt")
    for key in rank0:  # gradients were all-reduced: both ranks hold the very same weights
        assert torch.equal(rank0[key], rank1[key]), key
    # One process drawing both ranks' crops as two accumulated micro-batches takes the same steps.
    single = _weights(train(_tiny_config(accumulate=2, deterministic=True, threads=1), tiny_cohort,
                            tmp_path / "single", progress=False).parent / "final.pt")
    for key in rank0:
        torch.testing.assert_close(single[key], rank0[key].float(), rtol=1e-4, atol=1e-5, msg=key)
    # ... and not the steps of a one-rank run, which sees half the crops (the comparison is not vacuous)
    alone = _weights(train(_tiny_config(deterministic=True, threads=1), tiny_cohort, tmp_path / "alone",
                           progress=False).parent / "final.pt")
    assert max(float((alone[k] - rank0[k].float()).abs().max()) for k in rank0) > 1e-3


@pytest.mark.slow
@pytest.mark.ci_slow
def test_tiny_network_overfits_two_synthetic_subjects(tmp_path):
    # Two 2 mm synthetic subjects with typical single lesions (3.4 and 4.1 cm³, near the ATLAS median; seed 18
    # was picked for that, since the point is the optimisation, not small-lesion detection). 300 steps on 32³
    # crops, seeded and deterministic. Whole-volume Dice measured with training seeds 0–3: minimum over the two
    # subjects 0.93–0.96 (200 steps gave 0.84–0.94, which a 0.9 bound failed by chance); a frozen network
    # (lr 0), a sign-flipped loss or a loss without gradient all score 0.0, so a 0.8 bound keeps both margins.
    from lesionkit.synth import generate_cohort

    data = tmp_path / "synth"
    generate_cohort(data, 2, seed=18, resolution=2.0, progress=False)
    config = load_config(overrides={
        "network": {"widths": [8, 16, 32], "stem_stride": 1},
        "channels": ["t1", "mirror", "template"],
        "zoom_in": {"epochs": 30, "crop": [32, 32, 32], "lr": 1e-2, "cycle_epochs": 30, "batch_size": 4},
        "zoom_out": {"epochs": 0, "crop": [64, 64, 64], "lr": 1e-3, "cycle_epochs": 1},
        "steps_per_epoch": 10, "lesion_fraction": 0.75, "augment": 0.0, "val_fraction": 0.0,
        "tensorboard": False, "threads": 1, "deterministic": True, "seed": 0,
    })
    best = train(config, data, tmp_path / "run", progress=False)
    model = load_model(best)
    from lesionkit.io import load_case_mask, load_cohort, load_image

    scores = []
    for case in load_cohort(data):
        probability = predict_array(model, np.asarray(load_image(case.t1w).dataobj))
        scores.append(dice(binarize_probability(probability), np.asarray(load_case_mask(case).dataobj)))
    assert min(scores) > 0.8, scores


def test_init_starts_from_a_checkpoints_weights(tiny_cohort, tmp_path):
    first = train(_tiny_config(), tiny_cohort, tmp_path / "first", progress=False).parent / "final.pt"
    frozen = _tiny_config(zoom_in={"lr": 0.0}, zoom_out={"epochs": 0})  # lr 0: the weights cannot move
    train(frozen, tiny_cohort, tmp_path / "second", progress=False, init=first)
    before, after = _weights(first), _weights(tmp_path / "second" / "final.pt")
    assert all(torch.equal(before[k], after[k]) for k in before)
    random_start = _weights(train(frozen, tiny_cohort, tmp_path / "third", progress=False).parent / "final.pt")
    assert any(not torch.equal(before[k], random_start[k]) for k in before)


def test_init_refuses_a_checkpoint_of_another_architecture(tiny_cohort, tmp_path):
    first = train(_tiny_config(), tiny_cohort, tmp_path / "first", progress=False).parent / "final.pt"
    wider = _tiny_config(network={"widths": [8, 32]})
    with pytest.raises(InvalidInputError, match="final.pt.*cannot start from this checkpoint.*widths"):
        train(wider, tiny_cohort, tmp_path / "second", progress=False, init=first)
    with pytest.raises(InvalidInputError, match="spacing"):
        train(_tiny_config(spacing=4.0), tiny_cohort, tmp_path / "coarser", progress=False, init=first)
    ensemble = save_checkpoint(tmp_path / "ens.pt", [torch.nn.Identity()] * 2, _tiny_config().network)
    with pytest.raises(InvalidInputError, match="ensemble"):
        train(_tiny_config(), tiny_cohort, tmp_path / "third", progress=False, init=ensemble)


def test_loader_threads_prepare_the_very_same_batches(tiny_cohort, tmp_path):
    # augmentation on (flip, affine, bias, intensity: MONAI keeps random state in the transform objects, so
    # threads sharing one pipeline would reseed each other) and two micro-batches per step
    base = {"augment": 1.0, "accumulate": 2, "deterministic": True, "threads": 1, "zoom_out": {"epochs": 0}}
    runs = {}
    for threads in (0, 3):
        out = tmp_path / f"threads{threads}"
        train(_tiny_config(loader_threads=threads, **base), tiny_cohort, out, progress=False)
        runs[threads] = (_weights(out / "final.pt"), [r["loss"] for r in csv.DictReader((out / "log.csv").open())])
    (serial, serial_losses), (threaded, threaded_losses) = runs[0], runs[3]
    assert serial_losses == threaded_losses
    for key in serial:
        assert torch.equal(serial[key], threaded[key]), key
    start = _weights(tmp_path / "threads0" / "snapshot-0001.pt")
    assert any(not torch.equal(start[k], serial[k]) for k in serial)  # the weights did move between epochs


def test_batches_come_back_in_step_order_whatever_the_threads_take():
    import time

    from lesionkit.model.train import _Batches

    def make(transform, step, shard):  # later steps finish first
        time.sleep(0.002 * (8 - step))
        return torch.tensor([step]), torch.tensor([shard, transform])

    batches = _Batches(4, lambda: 7)
    try:
        keys = [(step, shard) for step in range(8) for shard in range(2)]
        out = [(int(a), b.tolist()) for a, b in batches.iterate(make, keys)]
        assert out == [(step, [shard, 7]) for step, shard in keys]
        assert batches.map(lambda x: x * x, [3, 1, 2]) == [9, 1, 4]
    finally:
        batches.close()


def test_time_limit_stops_after_the_epoch_it_runs_out_in_with_the_checkpoints_of_a_normal_end(tiny_cohort, tmp_path):
    # 3 epochs planned (2 zoom-in, 1 zoom-out); a budget that is spent before the first epoch ends
    config = _tiny_config(time_limit_s=1e-3, roi_size=None, val_fraction=0.4, val_every=10)
    best = train(config, tiny_cohort, tmp_path / "run", progress=False)
    run = tmp_path / "run"
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1"]
    assert "time limit" in rows[0]["note"] and rows[0]["val_dice"] != ""  # validated as a last epoch is
    assert {"final.pt", "best.pt", "last.pt", "snapshot-0001.pt"} <= {p.name for p in run.iterdir()}
    assert not (run / "snapshot-0002.pt").exists()
    final = load_model(run / "final.pt")
    metrics = final.provenance["metrics"]
    assert metrics["stopped_on_time"] is True and metrics["epoch"] == 1 and metrics["planned_epochs"] == 3
    assert metrics["time_limit_s"] == 1e-3 and metrics["elapsed_s"] > 0
    # stopped in zoom-in: the checkpoints' inference window is the zoom-in crop, not the unreached zoom-out one
    assert list(final.roi_size) == [16, 16, 16] and list(load_model(best).roi_size) == [16, 16, 16]
    assert torch.load(run / "last.pt", weights_only=True)["epoch"] == 1
    # without a limit the same run goes on to the zoom-out stage and its window
    full = train(_tiny_config(roi_size=None), tiny_cohort, tmp_path / "full", progress=False)
    assert "stopped_on_time" not in load_model(full).provenance["metrics"]
    assert list(load_model(tmp_path / "full" / "final.pt").roi_size) == [24, 24, 24]


def test_bf16_runs_the_network_in_bfloat16_and_keeps_float32_weights(tiny_cohort, tmp_path, monkeypatch):
    seen = []
    real_forward = torch.nn.Conv3d.forward

    def spy(self, x):
        out = real_forward(self, x)
        seen.append(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.Conv3d, "forward", spy)
    best = train(_tiny_config(bf16=True, zoom_out={"epochs": 0}), tiny_cohort, tmp_path / "bf16", progress=False)
    assert torch.bfloat16 in seen  # the convolutions ran under bfloat16 autocast
    weights = _weights(best)
    assert all(w.dtype == torch.float32 and torch.isfinite(w).all() for w in weights.values())
    rows = list(csv.DictReader((tmp_path / "bf16" / "log.csv").open()))
    assert all(np.isfinite(float(r["loss"])) for r in rows)
    seen.clear()
    train(_tiny_config(zoom_out={"epochs": 0}), tiny_cohort, tmp_path / "fp32", progress=False)
    assert torch.bfloat16 not in seen  # off by default


def test_init_from_a_model_at_twice_the_voxel_size_starts_its_strided_twin(tiny_cohort, tmp_path):
    from lesionkit.model.transfer import strided_config, strided_from_coarse

    coarse_config = _tiny_config(spacing=4.0, zoom_out={"epochs": 0}, roi_size=[8, 8, 8])
    coarse = train(coarse_config, tiny_cohort, tmp_path / "coarse", progress=False).parent / "final.pt"
    twin = strided_config(coarse_config.network)
    frozen = _tiny_config(spacing=2.0, network=twin.to_dict(), zoom_in={"lr": 0.0}, zoom_out={"epochs": 0})
    train(frozen, tiny_cohort, tmp_path / "fine", progress=False, init=coarse)
    expected = strided_from_coarse(load_model(coarse).networks[0], twin, seed=frozen.seed).state_dict()
    after = _weights(tmp_path / "fine" / "final.pt")
    assert all(torch.allclose(after[k], expected[k].float(), atol=1e-3) for k in expected)
    with pytest.raises(InvalidInputError, match="network"):  # the twin, but not at half the voxel size
        train(_tiny_config(spacing=4.0, network=twin.to_dict()), tiny_cohort, tmp_path / "same", progress=False,
              init=coarse)


def test_validation_figures_count_lesions_small_detections_and_false_lesions():
    truth = np.zeros((20, 20, 20), bool)
    truth[2:10, 2:10, 2:10] = True  # 512 mm³ at 1 mm: found
    truth[15:17, 15:17, 15:17] = True  # 8 mm³: missed
    pred = np.zeros_like(truth)
    pred[3:10, 3:10, 3:10] = True
    pred[15:17, 2:4, 2:4] = True  # a false lesion
    free = np.zeros_like(truth)
    free_pred = np.zeros_like(truth)
    free_pred[5:7, 5:7, 5:7] = True
    free_pred[12:14, 12:14, 12:14] = True
    figures = train_module._validation_figures(iter([(pred, truth, 1.0), (free_pred, free, 1.0)]))
    # F1 = TP / (TP + (FP + FN) / 2) = 1 / (1 + 1) on the lesioned subject; the lesion-free one has none
    assert figures["f1"] == pytest.approx(0.5)
    assert figures["small_detected"] == 0.0  # the 8 mm³ lesion; the 512 mm³ one is not small
    assert figures["false_per_free"] == 2.0
    # a voxel of 8 mm³ (2 mm grid) makes the first lesion 4,096 mm³ and the second 64 mm³: still one small, missed
    assert train_module._validation_figures(iter([(pred, truth, 8.0)]))["small_detected"] == 0.0
    pred[16, 16, 16] = True
    assert train_module._validation_figures(iter([(pred, truth, 1.0)]))["small_detected"] == 1.0
    assert np.isnan(train_module._validation_figures(iter([(free_pred, free, 1.0)]))["f1"])


def test_warm_cosine_is_the_papers_schedule_with_a_linear_ramp_at_every_restart():
    weight = torch.nn.Parameter(torch.zeros(1))
    paper_opt, ours_opt = torch.optim.Adam([weight], lr=1e-3), torch.optim.Adam([weight], lr=1e-3)
    paper = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(paper_opt, T_0=10, eta_min=1e-5)
    ours = torch.optim.lr_scheduler.LambdaLR(ours_opt, train_module._WarmCosine(10, 0))
    for _ in range(25):  # two and a half cycles
        assert ours.get_last_lr()[0] == pytest.approx(paper.get_last_lr()[0], rel=1e-9)
        paper_opt.step()  # no gradient: nothing moves, only the schedulers' order check is satisfied
        ours_opt.step()
        paper.step()
        ours.step()
    warm = train_module._WarmCosine(10, 4)
    plain = train_module._WarmCosine(10, 0)
    ramp = [warm(t) / plain(t) for t in range(6)]
    assert ramp == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])
    assert warm(10) == pytest.approx(warm(0)) and warm(13) == pytest.approx(plain(13))  # again after a restart


def test_gradients_are_clipped_to_the_configured_norm_and_the_log_shows_the_largest(tiny_cohort, tmp_path,
                                                                                      monkeypatch):
    seen = []
    real_clip = torch.nn.utils.clip_grad_norm_

    def clip(parameters, max_norm, *args, **kwargs):
        parameters = list(parameters)
        norm = real_clip(parameters, max_norm, *args, **kwargs)
        after = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in parameters if p.grad is not None]))
        seen.append((max_norm, float(norm), float(after)))
        return norm

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", clip)
    train(_tiny_config(clip_grad_norm=0.05), tiny_cohort, tmp_path / "clipped", progress=False)
    assert len(seen) == 3 * 2 and all(limit == 0.05 for limit, _, _ in seen)  # every step of the three epochs
    assert any(norm > 0.05 for _, norm, _ in seen)  # the limit was reached, so clipping is tested
    assert all(after <= 0.05 * 1.001 for _, _, after in seen)
    rows = list(csv.DictReader((tmp_path / "clipped" / "log.csv").open()))
    assert [float(r["grad_norm"]) for r in rows] == pytest.approx(
        [max(norm for _, norm, _ in seen[2 * e:2 * e + 2]) for e in range(3)], rel=1e-2)
    seen.clear()
    train(_tiny_config(), tiny_cohort, tmp_path / "free", progress=False)  # 0 = no clipping: the norm is logged
    assert all(limit == float("inf") and after == pytest.approx(norm, rel=1e-5) for limit, norm, after in seen)



def test_prior_jitter_moves_the_mirror_and_template_crops_only_and_by_at_most_its_reach():
    from lesionkit.model.augment import build_augmentation
    from lesionkit.model.data import Sample

    volumes = np.random.default_rng(0).normal(size=(3, 24, 24, 24)).astype(np.float16)  # t1, mirror, template
    sample = Sample("a", volumes, np.zeros((24, 24, 24), np.float16), np.zeros((0, 3), np.int32), np.array([0]))
    one = {"augment": 0.0, "channels": ["t1", "mirror", "template"], "zoom_in": {"batch_size": 1}}
    plain, jittered = _tiny_config(**one), _tiny_config(**one, prior_jitter_mm=3.0)
    slices = (slice(6, 18),) * 3
    rng = np.random.default_rng(1)
    assert train_module._prior_slices(slices, "t1", sample, jittered, rng) == slices
    assert train_module._prior_slices(slices, "template", sample, plain, rng) == slices
    moves = [[s.start - 6 for s in train_module._prior_slices(slices, name, sample, jittered, rng)]
             for _ in range(20) for name in ("mirror", "template")]
    assert np.abs(moves).max() == 3 and len({tuple(m) for m in moves}) > 10
    identity = build_augmentation(0.0)
    differ = 0
    for step in range(4):  # the image and mask crops are the ones without jitter, the priors are moved
        a, la = train_module._batch([sample], plain.zoom_in, (12, 12, 12), plain, identity, step, 0)
        b, lb = train_module._batch([sample], jittered.zoom_in, (12, 12, 12), jittered, identity, step, 0)
        np.testing.assert_array_equal(a[:, 0].numpy(), b[:, 0].numpy())
        np.testing.assert_array_equal(la.numpy(), lb.numpy())
        differ += int(not torch.equal(a[:, 1:], b[:, 1:]))
    assert differ >= 3
