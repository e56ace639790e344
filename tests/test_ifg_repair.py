"""ylg.ifg.repair: the result always has Full Information and contains the original."""

from __future__ import annotations

import json

import numpy as np
import pytest
from clirun import run
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ifg_strategies import random_masks

from ylg.errors import YlgError
from ylg.ifg import full_information
from ylg.ifg.layers import step_matrices
from ylg.ifg.repair import check_grids, repair, with_report
from ylg.patterns import Masks, Pattern, library, load_pattern

SQUARES = ["4x4", "8x8", "16x16", "32x32", "64x64"]


def relaid(pattern: Pattern, masks: Masks) -> Masks:
    return pattern.on(
        masks.grid,
        query_grid=masks.query_grid,
        order=masks.order,
        nonsquare=masks.nonsquare,
        stride=masks.stride,
    )


@settings(max_examples=60, deadline=None)
@given(random_masks(max_side=3), st.booleans())
def test_repair_gives_full_information_and_keeps_the_original(masks: Masks, pick: bool) -> None:
    result = None
    if pick:  # the last step: impossible when some input reaches no token before it
        inner = step_matrices(masks)[:-1]
        reached = np.ones(masks.nk, dtype=bool)
        if inner:
            reach = inner[0].toarray().astype(np.int64)
            for m in inner[1:]:
                reach = np.minimum(m.toarray().astype(np.int64) @ reach, 1)
            reached = reach.any(axis=0)
        if reached.all() or full_information(masks).holds:
            result = repair(masks, step=masks.num_steps - 1)
            assert result.step == masks.num_steps - 1
        else:
            with pytest.raises(YlgError, match="cannot be repaired"):
                repair(masks, step=masks.num_steps - 1)
    result = result or repair(masks)
    new = relaid(result.pattern, masks)
    assert full_information(new).holds
    old, extended = masks.dense(), new.dense()
    assert (extended >= old).all()  # contains the original pattern
    added = int(extended.sum() - old.sum())
    assert result.added == added
    assert (result.added == 0) == (result.missing == 0) == (result.clauses == [])
    others = [t for t in range(masks.num_steps) if t != result.step]
    assert all((extended[t] == old[t]).all() for t in others)


def test_repaired_fixed_is_ltr() -> None:
    # The best clause for Fixed's step 2 is exactly what LTR adds: every block's last
    # element, also to the right of the query.
    result = repair(load_pattern("fixed").on("8x8"))
    assert result.step == 1 and result.clauses == ["k % s == s - 1"]
    for grid in ("4x4", "8x8", "16x16"):
        ours = result.pattern.on(grid).dense()
        ltr = load_pattern("ltr").on(grid).dense()
        assert (ours == ltr).all()
    n, s = 64, 8
    assert result.added == n * (s + 1) // 2 - s
    # Any step-2 repair needs n(n-1)/2 anti-causal pairs, each new position giving at
    # most s of them: the greedy is within 12% of that bound (6% at 16x16).
    assert result.added <= 1.12 * n * (n - 1) / (2 * s)
    assert result.tried == {0: result.tried[0], 1: result.added}
    assert result.tried[0] > result.added


def test_repaired_strided_adds_the_fewest_positions_possible() -> None:
    result = repair(load_pattern("strided").on("8x8"))
    assert result.step == 0
    assert result.clauses == ["q // s == (n - 1) // s and k > q"]
    checks = check_grids(result, SQUARES)
    for check in checks:
        s = int(np.sqrt(check.tokens))
        # n(s-1)/2 pairs are missing and each position added to step 1 gives at most
        # s of them: s(s-1)/2 positions is the least any step-1 repair can add.
        assert check.holds and check.added == s * (s - 1) // 2, check


@pytest.mark.parametrize("name", ["fixed-fi", "strided-fi"])
def test_library_repairs_have_full_information_and_contain_the_originals(name: str) -> None:
    repaired = library()[name]
    original = library()[repaired.meta["repaired_from"]]
    step = repaired.meta["repaired_step"] - 1
    for grid in SQUARES:
        for order in ("esa", "rowmajor", "hilbert"):
            new = repaired.on(grid, order=order)
            assert full_information(new).holds, (name, grid, order)
        old_dense, new_dense = original.on(grid).dense(), repaired.on(grid).dense()
        assert (new_dense >= old_dense).all()
        assert (new_dense[1 - step] == old_dense[1 - step]).all()


@pytest.mark.parametrize("name", ["fixed", "strided"])
def test_library_repairs_are_what_repair_makes(name: str) -> None:
    shipped = library()[f"{name}-fi"]
    result = repair(load_pattern(name).on("16x16"))
    assert result.pattern.steps == shipped.steps
    assert shipped.meta["clauses"] == result.clauses
    assert f"16x16: {result.added} added" in " ".join(shipped.meta["added_positions"])


def test_repair_of_a_partial_last_block_and_of_one_step_patterns() -> None:
    ltr = load_pattern("ltr").on("2x5", order="rowmajor")
    result = repair(ltr)
    assert result.missing == 9 and full_information(relaid(result.pattern, ltr)).holds
    window = load_pattern("window").on("4x4")
    one = repair(window)
    assert one.step == 0 and full_information(relaid(one.pattern, window)).holds
    assert one.added == int((~window.dense(0)).sum())  # one step must become dense


def test_repair_of_a_nonsquare_layout_and_a_pattern_that_needs_nothing() -> None:
    masks = load_pattern("fixed").on("4x4", query_grid="8x8")
    result = repair(masks)
    assert full_information(relaid(result.pattern, masks)).holds
    nothing = repair(load_pattern("ltr").on("4x4"))
    assert nothing.clauses == [] and nothing.added == 0
    assert nothing.pattern.steps == load_pattern("ltr").steps


def test_repaired_pattern_round_trips_as_a_pattern_file() -> None:
    result = repair(load_pattern("strided").on("4x4"), name="mine")
    pattern = with_report(result, check_grids(result, ["8x8"]), description="ours")
    again = Pattern.from_toml(pattern.to_toml())
    assert again.name == "mine" and again.description == "ours"
    assert again.steps == result.pattern.steps
    assert again.meta["full_information_on"] == ["8x8"]
    assert full_information(again.on("32x32")).holds


def test_repair_rejects_bad_steps_and_big_grids() -> None:
    with pytest.raises(YlgError, match="no step 3"):
        repair(load_pattern("fixed").on("4x4"), step=2)
    with pytest.raises(YlgError, match="at most 1024 tokens"):
        repair(load_pattern("fixed").on("64x64"))


def test_repair_on_a_video_grid_checks_video_grids(tmp_path, capsys) -> None:  # noqa: ANN001
    from ylg.cli.main import main

    out = tmp_path / "w3.toml"
    with pytest.raises(SystemExit) as exc:
        main(["repair", "window", "--grid", "3x4x4", "-o", str(out)])
    assert exc.value.code in (0, None)
    text = capsys.readouterr().out
    assert "2x4x4" in text and "8x16x16" in text and "64x64" not in text
    repaired = load_pattern(str(out))
    assert full_information(repaired.on("3x4x4")).holds
    assert full_information(load_pattern("window").on("3x4x4")).holds is False


def test_repair_counts_before_at_the_stride_it_writes(capsys, tmp_path) -> None:
    """With --stride, the positions before are counted at that stride on every checked
    grid (they were counted at the pattern's own and came out negative)."""
    out_file = tmp_path / "r.toml"
    code, out, _ = run(
        capsys, "repair", "strided", "--grid", "4x4", "--stride", "3", "-o", str(out_file), "--json"
    )
    assert code == 0
    data = json.loads(out)
    repaired = load_pattern(str(out_file))
    for check in data["checks"]:
        before = load_pattern("strided").on(check["grid"], stride=3).counts()[data["step"] - 1]
        after = repaired.on(check["grid"]).counts()[data["step"] - 1]
        assert (check["original"], check["added"]) == (before, after - before)
        assert check["added"] >= 0


def test_repair_fails_when_it_does_not_carry_over(capsys, tmp_path) -> None:
    out_file = tmp_path / "r.toml"
    code, out, _ = run(capsys, "repair", "strided", "--grid", "2x5", "-o", str(out_file))
    assert code == 1 and out_file.exists()
    assert "the repair does not carry over to 4x4, 8x8, 16x16, 32x32, 64x64" in out
    code, _, err = run(
        capsys,
        "repair",
        "strided",
        "--grid",
        "4x4",
        "--check",
        "2048x2048",
        "-o",
        str(tmp_path / "c.toml"),
    )
    assert code == 2 and "check a smaller grid" in err and not (tmp_path / "c.toml").exists()
