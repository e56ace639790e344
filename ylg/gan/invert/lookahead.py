"""Lookahead (Zhang, Lucas, Hinton and Ba, 2019) around any torch optimiser.

The inner optimiser moves the *fast* weights; every ``k`` of its steps the *slow*
weights move a fraction ``alpha`` of the way towards them,
``slow <- slow + alpha * (fast - slow)``, and the fast weights restart from there.
The inner optimiser's state (Adam's moments) is kept across the reset, the default of
the Lookahead paper. The paper's inversion uses Lookahead around Adam (its appendix
9.1.3); the authors' released script builds the wrapper but its slow weights never
update (see ``docs/inversion.md``), so here a test checks that they do.

>>> import torch
>>> w = torch.zeros(1, requires_grad=True)
>>> opt = Lookahead(torch.optim.SGD([w], lr=1.0), k=2, alpha=0.5)
>>> for _ in range(2):
...     opt.zero_grad(); (-w).sum().backward(); opt.step()   # fast: 1, then 2
>>> w.item(), opt.syncs       # slow 0 -> 0 + 0.5 * (2 - 0) = 1; fast restarts at 1
(1.0, 1)
"""

from __future__ import annotations

import torch

from ylg.errors import YlgError


class Lookahead:
    """Wrap ``inner``: ``step()`` runs it and syncs the slow weights every ``k`` steps.

    ``syncs`` counts the slow-weight updates so far; ``slow_weights()`` returns them
    (one tensor per parameter, in the inner optimiser's order).
    """

    def __init__(self, inner: torch.optim.Optimizer, k: int = 5, alpha: float = 0.5) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise YlgError(f"Lookahead k must be a positive integer, not {k!r}")
        if not 0.0 < alpha <= 1.0:
            raise YlgError(f"Lookahead alpha must be in (0, 1], not {alpha!r}")
        self.inner, self.k, self.alpha = inner, k, float(alpha)
        self.params = [p for group in inner.param_groups for p in group["params"]]
        self._slow = [p.detach().clone() for p in self.params]
        self.calls = 0
        self.syncs = 0

    def zero_grad(self) -> None:
        """Clear the gradients of the wrapped parameters."""
        self.inner.zero_grad(set_to_none=True)

    @torch.no_grad()
    def step(self) -> None:
        """One inner step; on every ``k``-th, move the slow weights and reset the fast."""
        self.inner.step()
        self.calls += 1
        if self.calls % self.k:
            return
        for fast, slow in zip(self.params, self._slow):
            slow.add_(fast - slow, alpha=self.alpha)
            fast.copy_(slow)
        self.syncs += 1

    def slow_weights(self) -> list[torch.Tensor]:
        """Copies of the slow weights."""
        return [s.clone() for s in self._slow]
