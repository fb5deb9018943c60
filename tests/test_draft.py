"""The draft head: shapes, the inference form equals the teacher-forced form when fed its own
proposals, it learns the core's greedy choices, and its ONNX graph matches PyTorch."""

import torch

from tars_export import core_build
from tars_export.core import CoreConfig, TarsCore
from tars_export.draft import DraftConfig, DraftHead, draft_loss
from tars_export.quant import set_scheme

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
        logits, hidden, _, _ = core(tokens)
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
    core_build.export_draft_graph(draft, path)
    tokens = torch.randint(0, 256, (1, 10))
    with torch.no_grad():
        _, hidden, _, _ = core(tokens)
    worst = core_build.check_draft_graph(draft, path, hidden[0], tokens[0])
    assert worst <= core_build.PARITY_TOLERANCE
    weights = tmp_path / "draft.npz"
    core_build.save_weights(draft, draft.cfg.to_dict(), weights)
    again = core_build.load_draft_weights(weights)
    with torch.no_grad():
        torch.testing.assert_close(again(hidden[:, -1], tokens[:, -1])[1],
                                   draft(hidden[:, -1], tokens[:, -1])[1], atol=1e-5, rtol=1e-5)
