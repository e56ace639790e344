"""Short text verdicts of the checks, as the command line prints them.

>>> from ylg.patterns import load_pattern
>>> from ylg.ifg.reach import full_information
>>> lines = full_information_lines(full_information(load_pattern("fixed").on("3x3"), examples=1))
>>> print("\\n".join(lines[:4]))
full information: does NOT hold
  pattern fixed on 3x3, esa, s=3 (2 steps)
  missing pairs: 36 of 81 (44.44%) (input, output) pairs have no path
  examples (input -> output; cells are (row, column)):
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ylg.ifg.flow import MaxFlow, Token
    from ylg.ifg.kflow import KFlow
    from ylg.ifg.reach import FullInformation
    from ylg.ifg.repair import GridCheck, Repair
    from ylg.ifg.stack import LayersNeeded, StackVerdict


def cell(c: tuple[int, ...]) -> str:
    """A grid cell as ``(row,col)`` (one index per axis: ``(t,row,col)`` on a video).

    >>> cell((3, 4)), cell((1, 3, 4))
    ('(3,4)', '(1,3,4)')
    """
    return "(" + ",".join(str(int(x)) for x in c) + ")"


def plural(count: int, noun: str) -> str:
    """``1 step``, ``2 steps``.

    >>> plural(1, "step"), plural(3, "layer")
    ('1 step', '3 layers')
    """
    return f"{count} {noun}" + ("" if count == 1 else "s")


#: What the numbers of a cell are, by the number of grid axes.
CELL_AXES = {1: "(position)", 2: "(row, column)", 3: "(frame, row, column)"}


def cells_are(c: tuple[int, ...]) -> str:
    """The words that say what a cell's numbers are, from one cell.

    >>> cells_are((3, 4)), cells_are((7,))
    ('cells are (row, column)', 'cells are (position)')
    """
    return f"cells are {CELL_AXES.get(len(c), 'one index per axis')}"


def token(t: "Token") -> str:
    """A graph token as ``V<layer> <position> (row,col)``.

    >>> token((1, 5, (1, 2)))
    'V1 5 (1,2)'
    """
    layer, pos, c = t
    return f"V{layer} {pos} {cell(c)}"


def _verdict(holds: bool) -> str:
    return "holds" if holds else "does NOT hold"


def full_information_lines(fi: "FullInformation") -> list[str]:
    """The verdict of a Full Information check."""
    lines = [
        f"full information: {_verdict(fi.holds)}",
        f"  pattern {fi.pattern} on {fi.layout} ({plural(fi.steps, 'step')})",
        f"  missing pairs: {fi.missing} of {fi.pairs} ({fi.missing / fi.pairs:.2%})"
        " (input, output) pairs have no path",
    ]
    if fi.examples:
        lines.append(f"  examples (input -> output; {cells_are(fi.examples[0][1])}):")
        lines += [
            f"    input {i} {cell(ic)} -> output {o} {cell(oc)}: no path"
            for i, ic, o, oc in fi.examples
        ]
    lines.append(f"  time: {fi.seconds:.3f} s")
    return lines


def k_flow_lines(kf: "KFlow") -> list[str]:
    """The verdict of a k-token flow check."""
    if kf.exact:
        how = f"exact: covers all {kf.pairs} pairs of {kf.k}-sets"
    else:
        how = (
            f"sampled: {kf.samples} random pairs of {kf.k}-sets out of {kf.pairs}, seed"
            f" {kf.seed}; {kf.failing} failed (a sample can refute, never prove)"
        )
    verdict = (
        "undecided (no failure in the sample; only an exact check, --exact, can prove it)"
        if kf.holds is None
        else _verdict(kf.holds)
    )
    lines = [
        f"{kf.k}-token flow: {verdict}",
        f"  pattern {kf.pattern} on {kf.layout}",
        f"  {how}",
        f"  smallest flow found: {kf.min_flow} (needed: {kf.k})",
    ]
    if kf.worst:
        lines.append(f"  worst sets found ({cells_are(kf.worst[0].inputs[0][1])}):")
        for w in kf.worst:
            ins = " ".join(cell(c) for _, c in w.inputs)
            outs = " ".join(cell(c) for _, c in w.outputs)
            cut = ", ".join(token(t) for t in w.bottleneck) or "none (no path at all)"
            lines.append(f"    inputs {ins} -> outputs {outs}: flow {w.flow}, bottleneck {cut}")
    lines.append(f"  time: {kf.seconds:.3f} s")
    return lines


def max_flow_lines(mf: "MaxFlow") -> list[str]:
    """The max flow between two token sets and its bottleneck."""
    lines = [
        f"max flow: {mf.value} (from {len(mf.sources)} inputs to {len(mf.sinks)} outputs,"
        " one unit per token per layer)",
        f"  pattern {mf.pattern} on {mf.layout}",
    ]
    if mf.bottleneck:
        count = len(mf.bottleneck)
        lines.append(f"  bottleneck (a minimum cut, {count} token{'s' if count > 1 else ''}):")
        lines += [f"    {token(t)}" for t in mf.bottleneck]
    else:
        lines.append("  bottleneck: none (no path from the inputs to the outputs)")
    lines.append(f"  time: {mf.seconds:.3f} s")
    return lines


def repair_lines(r: "Repair", checks: "list[GridCheck]") -> list[str]:
    """What a repair added, and the checks of the result on other grids."""
    lines = [
        f"repaired {r.original.name} -> {r.pattern.name} on {r.layout}:"
        f" {r.missing} missing pairs before",
        f"  extended step {r.step + 1}, adding {r.added} attended positions"
        + (
            " (positions each step would need: "
            + ", ".join(f"step {s + 1}: {a}" for s, a in sorted(r.tried.items()))
            + ")"
            if len(r.tried) > 1
            else ""
        ),
    ]
    if r.clauses:
        lines.append("  clauses or-ed onto the step:")
        lines += [f"    {c}" for c in r.clauses]
    else:
        lines.append("  nothing to add: the pattern already has Full Information")
    if checks:
        lines.append(f"  on other grids (step {r.step + 1}):")
        lines.append("    grid      full information  positions before  added")
        lines += [
            f"    {c.grid:<9} {'yes' if c.holds else 'NO':<17} {c.original:<16}  {c.added}"
            for c in checks
        ]
    checked = sum(c.seconds for c in checks)
    lines.append(
        f"  time: {r.seconds:.2f} s" + (f" (and {checked:.2f} s checking)" if checks else "")
    )
    failed = [c.grid for c in checks if not c.holds]
    if failed:
        lines.append(
            f"  the repair does not carry over to {', '.join(failed)}: its clauses fit"
            f" {r.layout.split(',')[0]} only; repair on a larger grid"
        )
    return lines


def layers_needed_text(needed: "LayersNeeded") -> str:
    """How many layers Full Information needs, in words.

    >>> from ylg.patterns import load_pattern
    >>> from ylg.ifg.stack import layers_needed
    >>> layers_needed_text(layers_needed(load_pattern("window").on("8x8")))
    '4 (window repeated)'
    >>> layers_needed_text(layers_needed(load_pattern("fixed").on("4x4")))
    'never (fixed repeated: after 2 layers the reach is one it had before, not full)'
    """
    how = f"{needed.pattern} repeated" if needed.cycle == 1 else f"cycling {needed.pattern}"
    if needed.layers is not None:
        return f"{needed.layers} ({how})"
    if needed.reason == "never":
        return (
            f"never ({how}: after {len(needed.reached)} layers the reach is one it had"
            " before, not full)"
        )
    return f"more than {needed.max_layers} ({how}; the most layers tried)"


def stack_lines(verdict: "StackVerdict") -> list[str]:
    """The verdict of a stack of layers: Full Information across it, the receptive
    fields of its outputs and the layers Full Information needs.

    >>> from ylg.patterns import load_pattern
    >>> from ylg.ifg.stack import verify_stack
    >>> window = load_pattern("window").on("8x8")
    >>> print("\\n".join(stack_lines(verify_stack([window] * 2, cycle=window, examples=1))[:6]))
    full information across 2 layers: does NOT hold
      stack: window x2 on 8x8, rowmajor, s=8 (2 steps in all; reach per group of axes)
      missing pairs: 1392 of 4096 (33.98%) (input, output) pairs have no path
      examples (input -> output; cells are (row, column)):
        input 5 (0,5) -> output 0 (0,0): no path
      receptive field (inputs reaching each output): min 25, mean 42.2, max 64 of 64;
    """
    fi, rf = verdict.full_information, verdict.receptive
    how = "reach per group of axes" if fi.method == "kronecker" else "reach on the whole grid"
    lines = [
        f"full information across {verdict.depth} layer{'s' if verdict.depth != 1 else ''}:"
        f" {_verdict(fi.holds)}",
        f"  stack: {fi.pattern} on {fi.layout} ({plural(fi.steps, 'step')} in all; {how})",
        f"  missing pairs: {fi.missing} of {fi.pairs} ({fi.missing / fi.pairs:.2%})"
        " (input, output) pairs have no path",
    ]
    if fi.examples:
        lines.append(f"  examples (input -> output; {cells_are(fi.examples[0][1])}):")
        lines += [
            f"    input {i} {cell(ic)} -> output {o} {cell(oc)}: no path"
            for i, ic, o, oc in fi.examples
        ]
    lines.append(
        f"  receptive field (inputs reaching each output): min {rf.min}, mean {rf.mean:.1f},"
        f" max {rf.max} of {rf.inputs};"
    )
    lines.append(
        f"    {rf.full_outputs} of {rf.outputs} outputs ({rf.full_share:.2%}) read every input"
    )
    if verdict.needed is not None:
        lines.append(f"  layers needed for full information: {layers_needed_text(verdict.needed)}")
    elif verdict.needed_note != "not asked":
        lines.append(f"  layers needed: not computed ({verdict.needed_note})")
    lines.append(f"  time: {verdict.seconds:.3f} s")
    return lines
