"""The draft head: shapes, the inference form equals the teacher-forced form when fed its own
proposals, it learns the core's greedy choices, and its ONNX graphs (the draft graph and the
fused verify graph) match PyTorch, including for a core rebuilt from a bundle's weights file."""

import pytest
import torch

from tars_export import core_build, draft_build
from tars_export.core import CoreConfig, TarsCore
from tars_export.draft import DraftConfig, DraftHead, SpeculateGraph, draft_loss
from tars_export.quant import set_scheme
from tars_export.verify import VerificationError

TINY = dict(d_model=32, n_waves=1, ssd_head_dim=16, wkv_head_dim=16, d_state=8)


def _pair(seed: int = 0, k: int = 3):
    torch.manual_seed(seed)
    core = TarsCore(CoreConfig(**TINY)).eval()
    draft = DraftHead.for_core(core, k)
    with torch.no_grad():
        for step in draft.steps:
            step.w2.weight.normal_(std=0.1)
    return core, draft.eval()


def test_shapes():
    core, draft = _pair(k=4)
    tokens = torch.randint(0, 256, (2, 20))
    with torch.no_grad():
        _, hidden, _, _ = core(tokens)
        teacher = draft.teacher_forced(hidden, tokens)
        proposed, draft_logits = draft(hidden[:, -1], tokens[:, -1])
    assert teacher.shape == (2, 16, 4, 256)
    assert proposed.shape == (2, 4) and proposed.dtype == torch.long
    assert draft_logits.shape == (2, 4, 256)


def test_inference_form_equals_teacher_forcing_on_its_own_proposals():
    core, draft = _pair(1, k=3)
    tokens = torch.randint(0, 256, (1, 12))
    with torch.no_grad():
        _, hidden, _, _ = core(tokens)
        proposed, logits = draft(hidden[:, 5], tokens[:, 6])
        # real text = the draft's own proposals after position 6
        text = torch.cat([tokens[:, :7], proposed], dim=1)
        hid = torch.cat([hidden[:, :6], torch.zeros(1, text.shape[1] - 6, hidden.shape[-1])], dim=1)
        teacher = draft.teacher_forced(hid, text)
    torch.testing.assert_close(teacher[0, 5], logits[0])


def test_training_moves_towards_the_core_greedy_choice():
    core, draft = _pair(2, k=2)
    for p in core.parameters():
        p.requires_grad_(False)
    tokens = torch.randint(0, 256, (4, 24))
    with torch.no_grad():
        logits, hidden, _, _ = core(tokens)
    optim = torch.optim.Adam(draft.parameters(), lr=3e-3)
    first = None
    for _ in range(30):
        loss, agree = draft_loss(draft, hidden, tokens, logits)
        first = first if first is not None else loss.item()
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert loss.item() < first and agree.shape == (2,)
    assert draft.embed.weight.grad is None  # the core's table stays frozen


def test_config_refuses_bad_k():
    for bad in (0, 17):
        try:
            DraftConfig(d_model=32, n_draft=bad)
        except AssertionError:
            continue
        raise AssertionError(f"n_draft={bad} accepted")


def test_onnx_draft_graph_matches_pytorch(tmp_path):
    core, draft = _pair(3, k=4)
    set_scheme(draft, "int8")
    path = tmp_path / "draft.onnx"
    draft_build.export_draft_graph(draft, path)
    tokens = torch.randint(0, 256, (1, 10))
    with torch.no_grad():
        _, hidden, _, _ = core(tokens)
    worst = draft_build.check_draft_graph(draft, path, hidden[0], tokens[0])
    assert worst <= core_build.PARITY_TOLERANCE
    weights = tmp_path / "draft.npz"
    core_build.save_weights(draft, draft.cfg.to_dict(), weights)
    again = core_build.load_draft_weights(weights)
    with torch.no_grad():
        torch.testing.assert_close(again(hidden[:, -1], tokens[:, -1])[1],
                                   draft(hidden[:, -1], tokens[:, -1])[1], atol=1e-5, rtol=1e-5)


def test_verify_graph_drafts_the_next_round_from_every_position():
    core, draft = _pair(4, k=3)
    tokens = torch.randint(0, 256, (1, 4))
    with torch.no_grad():
        logits, hidden, next_drafts, *at = SpeculateGraph(core, draft)(tokens, *core.initial_state(1))
        ref_logits, ref_hidden, _, ref_at = core(tokens, per_position=True)
        torch.testing.assert_close(logits, ref_logits)
        torch.testing.assert_close(hidden, ref_hidden)
        for got, ref in zip(at, ref_at):
            torch.testing.assert_close(got, ref)
        for j in range(4):
            expected, _ = draft(hidden[:, j], logits[:, j].argmax(-1))
            assert torch.equal(next_drafts[:, j], expected)


def _texts():
    return [bytes(range(65, 65 + 30)), "Привет! Как дела?".encode("cp1251") * 2]


def test_onnx_verify_graph_matches_pytorch_and_refuses_a_wrong_model(tmp_path):
    core, draft = _pair(5, k=4)
    set_scheme(core, "ternary", embeddings="int8")
    set_scheme(draft, "int8")
    draft.embed.scheme = core.embed.scheme
    path = tmp_path / "verify.onnx"
    draft_build.export_verify_graph(core, draft, path)
    assert draft_build.check_verify_graph(core, draft, path, _texts()) <= core_build.PARITY_TOLERANCE
    with torch.no_grad():
        draft.steps[0].w1.weight.mul_(-1.0)
    with pytest.raises(VerificationError):
        draft_build.check_verify_graph(core, draft, path, _texts())


def test_verify_graph_of_a_core_rebuilt_from_its_weights_file_stays_quantized(tmp_path):
    """`build-default --only draft` path: the core computes with dequantized weights (scheme
    "none"); the verify graph must store them packed again, losslessly."""
    trained, draft = _pair(6, k=2)
    set_scheme(trained, "ternary", embeddings="int8")
    weights = tmp_path / "core.npz"
    core_build.save_weights(trained, trained.cfg.to_dict(), weights)
    core = core_build.load_core_weights(weights)
    set_scheme(draft, "int8")
    packed, plain = tmp_path / "packed.onnx", tmp_path / "plain.onnx"
    draft_build.export_verify_graph(core, draft, packed, core_build.weight_schemes(weights))
    draft_build.export_verify_graph(core, draft, plain)
    assert draft_build.check_verify_graph(core, draft, packed, _texts()) <= core_build.PARITY_TOLERANCE
    assert packed.stat().st_size < 0.6 * plain.stat().st_size
