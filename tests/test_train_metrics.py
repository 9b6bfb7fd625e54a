"""per_type_metrics: the per-task-type training metrics of one step, against hand-computed values."""
from __future__ import annotations

import math

import pytest

from veritas.verl_adapters.train_metrics import per_type_metrics, type_name

DYCK, G24 = "lgc-v2/dyck_language2", "lgc-v2/game_of_24"
MAX_LEN = 64

# Three GRPO groups of three responses: dyck g1 all correct, dyck g2 all wrong (one truncated at
# MAX_LEN), game_of_24 g3 mixed (right, wrong, unreadable with format_penalty 0.1).
STEP = dict(
    data_sources=[DYCK] * 6 + [G24] * 3,
    scores=[1, 1, 1, 0, 0, 0, 1, 0, -0.1],
    accs=[1, 1, 1, 0, 0, 0, 1, 0, 0],
    format_oks=[1, 1, 1, 1, 1, 1, 1, 1, 0],
    response_lengths=[10, 20, 30, 40, 50, MAX_LEN, 8, 16, 24],
    max_response_length=MAX_LEN,
    uids=["g1"] * 3 + ["g2"] * 3 + ["g3"] * 3,
    levels=[3, 3, 3, 5, 5, 5, 2, 2, 2],
)

EXPECTED = {
    "train_by_type/dyck_language2/response_count": 6.0,
    "train_by_type/dyck_language2/reward_mean": 0.5,
    "train_by_type/dyck_language2/accuracy": 0.5,
    "train_by_type/dyck_language2/format_rate": 1.0,
    "train_by_type/dyck_language2/response_length_mean": 214 / 6,
    "train_by_type/dyck_language2/truncation_rate": 1 / 6,
    "train_by_type/dyck_language2/zero_variance_group_share": 1.0,
    "train_by_type/dyck_language2/pass_at_n": 0.5,  # g1 (3 of 3 right), not g2 (none)
    "train_by_type/dyck_language2/majority_right_share": 0.5,
    "train_by_type/dyck_language2/level_mean": 4.0,
    "train_by_type/dyck_language2/level_min": 3.0,
    "train_by_type/dyck_language2/level_max": 5.0,
    "train_by_type/game_of_24/response_count": 3.0,
    "train_by_type/game_of_24/reward_mean": 0.3,
    "train_by_type/game_of_24/accuracy": 1 / 3,
    "train_by_type/game_of_24/format_rate": 2 / 3,
    "train_by_type/game_of_24/response_length_mean": 16.0,
    "train_by_type/game_of_24/truncation_rate": 0.0,
    "train_by_type/game_of_24/zero_variance_group_share": 0.0,
    "train_by_type/game_of_24/pass_at_n": 1.0,  # g3: 1 of 3 right, a minority
    "train_by_type/game_of_24/majority_right_share": 0.0,
    "train_by_type/game_of_24/level_mean": 2.0,
    "train_by_type/game_of_24/level_min": 2.0,
    "train_by_type/game_of_24/level_max": 2.0,
    "train_by_type/all/zero_variance_group_share": 2 / 3,
}


def test_values_of_a_step_with_two_types_and_three_groups():
    got = per_type_metrics(**STEP)
    assert got.keys() == EXPECTED.keys()
    for key, value in EXPECTED.items():
        assert got[key] == pytest.approx(value), key


def test_row_order_does_not_matter():
    order = [8, 0, 5, 3, 7, 1, 4, 6, 2]
    shuffled = {k: ([v[i] for i in order] if isinstance(v, list) else v) for k, v in STEP.items()}
    assert per_type_metrics(**shuffled) == pytest.approx(per_type_metrics(**STEP))


def test_equal_rewards_within_tolerance_and_lone_responses():
    got = per_type_metrics(
        data_sources=[DYCK] * 4, scores=[0.5, 0.5 + 1e-9, 1.0, 0.0], accs=None, format_oks=None,
        response_lengths=None, max_response_length=None, uids=["a", "a", "b", "c"], levels=None,
    )
    # group a counts as flat; b and c hold one response each and are no GRPO groups
    assert got["train_by_type/dyck_language2/zero_variance_group_share"] == 1.0
    assert got["train_by_type/all/zero_variance_group_share"] == 1.0
    assert "train_by_type/dyck_language2/truncation_rate" not in got  # no max length known


@pytest.mark.parametrize(
    "broken",
    [
        {"scores": None, "accs": None, "format_oks": None, "response_lengths": None, "uids": None, "levels": None},
        {"scores": [1, 2], "accs": [1], "levels": "not a column", "uids": [None] * 9},
        {"scores": ["x", None, float("nan"), float("inf"), object(), [1, 2], {}, b"1", True]},
        {"uids": [[1], {}, set(), "g", "g", None, 1, 1, 2], "max_response_length": "64"},
        {"max_response_length": -1, "levels": [None] * 9},
    ],
)
def test_hostile_columns_leave_metrics_out_instead_of_raising(broken):
    got = per_type_metrics(**{**STEP, **broken})
    assert got["train_by_type/dyck_language2/response_count"] == 6.0
    assert all(isinstance(v, float) and math.isfinite(v) for v in got.values()), got


def test_hostile_columns_drop_exactly_their_metrics():
    got = per_type_metrics(**{**STEP, "accs": [None] * 9, "levels": [1, 2], "max_response_length": None})
    assert not any(k.endswith(("/accuracy", "/truncation_rate", "/level_mean", "/level_min", "/level_max", "/pass_at_n",
                               "/majority_right_share")) for k in got)
    assert got["train_by_type/game_of_24/format_rate"] == pytest.approx(2 / 3)
    # a True score counts as 1.0; the unhashable uids join no group
    got = per_type_metrics(**{**STEP, "scores": [True] * 9, "uids": [[1]] * 9})
    assert got["train_by_type/game_of_24/reward_mean"] == 1.0
    assert not any("zero_variance" in k or "pass_at_n" in k or "majority" in k for k in got)


def test_right_answer_counts_per_group_read_acc_not_the_shaped_reward():
    """Partial credit spreads the rewards of a group of wrong answers (no zero-variance group), but
    no answer is right; exactly half right is no majority, five of eight is."""
    bool_ = "lgc-v2/boolean_expressions"
    got = per_type_metrics(
        data_sources=[bool_] * 24, scores=[0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4] + [1, 0] * 4 + [1] * 5 + [0] * 3,
        accs=[0] * 8 + [1, 0] * 4 + [1] * 5 + [0] * 3, format_oks=None, response_lengths=None,
        max_response_length=None, uids=["a"] * 8 + ["b"] * 8 + ["c"] * 8, levels=None,
    )
    key = "train_by_type/boolean_expressions/"
    assert got[key + "zero_variance_group_share"] == 0.0
    assert got[key + "pass_at_n"] == pytest.approx(2 / 3)  # b and c
    assert got[key + "majority_right_share"] == pytest.approx(1 / 3)  # c only: b has 4 of 8


def test_identical_responses_per_group_tell_a_peaked_policy_from_a_hard_task():
    # g1: one answer three times (right); g2: three wrong answers, two alike; g3: three different
    keys = ["a", "a", "a", "b", "c", "b", "d", "e", "f"]
    got = per_type_metrics(**STEP, response_keys=keys)
    assert got["train_by_type/dyck_language2/identical_response_group_share"] == 0.5
    assert got["train_by_type/game_of_24/identical_response_group_share"] == 0.0
    assert got["train_by_type/all/identical_response_group_share"] == pytest.approx(1 / 3)
    # both zero-variance dyck groups (g1, g2) count there; only g1 is one answer
    assert got["train_by_type/dyck_language2/zero_variance_group_share"] == 1.0
    # unknown or unhashable keys join no group; a column of the wrong length counts for nothing
    got = per_type_metrics(**STEP, response_keys=[None, "a", "a", [1], "c", "c", "d", "d", None])
    assert got["train_by_type/dyck_language2/identical_response_group_share"] == 1.0  # g1 (2 rows), g2 (2 rows)
    assert got["train_by_type/game_of_24/identical_response_group_share"] == 1.0
    for broken in (keys[:5], 7, None):
        assert not any("identical" in k for k in per_type_metrics(**STEP, response_keys=broken))


def test_empty_and_unknown_sources():
    assert per_type_metrics([], None, None, None, None, None, None, None) == {}
    got = per_type_metrics([None, "gsm8k/main", "lgc-v2/"], [1, 0, 1], None, None, None, None, None, None)
    assert set(got) == {
        "train_by_type/unknown/response_count", "train_by_type/unknown/reward_mean",
        "train_by_type/gsm8k_main/response_count", "train_by_type/gsm8k_main/reward_mean",
        "train_by_type/lgc-v2_/response_count", "train_by_type/lgc-v2_/reward_mean",
    }


def test_type_name():
    assert type_name("lgc-v2/sudoku") == "sudoku"
    assert type_name("openai/gsm8k") == "openai_gsm8k"
    assert type_name(3) == "unknown"
