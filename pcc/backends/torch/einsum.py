"""The fused einsum block: a dense sum over Kronecker products of two groups (EiNet's layer),
evaluated and differentiated without storing the products."""

from __future__ import annotations

import numpy as np
import torch

from pcc.backends.torch.blocks import BlockOp, Scratch, Values, gather
from pcc.backends.torch.params import logsumexp, safe_log
from pcc.layering import Block

KRON_ELEMENTS = 1 << 20  # elements of one einsum intermediate (4 MiB in float32)


class KronOp(BlockOp):
    index_b: torch.Tensor
    """EiNet's S_k = sum_p sum_ij W_kpij a_pi b_pj in log space, never storing the a x b layer."""

    def __init__(self, block: Block, weights: np.ndarray | None, dtype: torch.dtype):
        super().__init__(block, weights, dtype)
        self.register_buffer("index_b", torch.tensor(block.index_b, dtype=torch.long),
                             persistent=False)

    def indices(self) -> list[torch.Tensor]:
        return [self.index, self.index_b]

    def work_per_row(self) -> int:
        G, P, Ka = self.index.shape
        Kb = self.index_b.shape[2]
        K = (self.stop - self.start) // G
        middle = K * Ka if K <= Kb else Ka * Kb   # the intermediate of the chosen contraction
        return 2 * G * P * (Ka + Kb + middle + 2 * K)

    def _group_slices(self, batch: int) -> list[slice]:
        """Groups in slices whose (K, Ka, batch) intermediates stay within KRON_ELEMENTS
        (a RAT-SPN's bottom layer, K = 32, batch 1000, would need 655 MB per tensor)."""
        G, P, Ka = self.index.shape
        K = (self.stop - self.start) // G
        per_group = P * K * max(Ka, self.index_b.shape[2]) * max(batch, 1)
        step = max(1, KRON_ELEMENTS // per_group)
        return [slice(g, min(G, g + step)) for g in range(0, G, step)]

    def fast(self, buf: torch.Tensor, out: torch.Tensor, scratch: "Scratch",
             log_w: torch.Tensor | None) -> None:
        K = (self.stop - self.start) // self.index.shape[0]
        for gs in self._group_slices(buf.shape[1]):
            rows = slice(gs.start * K, gs.stop * K)
            inputs = [gather(buf, self.index[gs]), gather(buf, self.index_b[gs])]
            out[rows] = self.compute(inputs, log_w[rows])  # type: ignore[index]

    def max_product(self, buf: torch.Tensor, out: torch.Tensor, scratch: "Scratch",
                    log_w: torch.Tensor | None) -> None:
        """max over (p, i, j) of W_kpij + a_pi + b_pj: the max over j first, then (p, i)."""
        a, b = gather(buf, self.index), gather(buf, self.index_b)  # (G, P, Ka | Kb, B)
        G, P, Ka, B = a.shape
        Kb = b.shape[2]
        w = log_w.view(G, -1, P, Ka, Kb, 1)  # type: ignore[union-attr]
        best_j = (w + b.view(G, 1, P, 1, Kb, B)).amax(4)             # (G, K, P, Ka, B)
        out.copy_((best_j + a.view(G, 1, P, Ka, B)).amax((2, 3)).reshape(-1, B))

    def backward_into(self, buf: "torch.Tensor | Values", grad_buf: torch.Tensor,
                      log_w: torch.Tensor | None, grad: torch.Tensor) -> torch.Tensor | None:
        K = (self.stop - self.start) // self.index.shape[0]
        slices = self._group_slices(buf.shape[1])
        # one gradient table, filled slice by slice (a concatenation would hold it twice)
        grad_ws = None if len(slices) == 1 else log_w.new_empty(log_w.shape)  # type: ignore[union-attr]
        for gs in slices:
            rows = slice(gs.start * K, gs.stop * K)
            index = [self.index[gs], self.index_b[gs]]
            grads, grad_w = self.vjp([gather(buf, i) for i in index], log_w[rows], grad[rows])  # type: ignore[index]
            for i, gi in zip(index, grads):
                grad_buf.index_add_(0, i.reshape(-1), gi.reshape(-1, buf.shape[1]))
            if grad_ws is None or grad_w is None:  # one slice (a weighted block has a grad_w)
                return grad_w
            grad_ws[rows] = grad_w
        return grad_ws

    def compute(self, inputs: list[torch.Tensor], log_w: torch.Tensor | None) -> torch.Tensor:
        a, b = inputs                                             # (G, P, Ka, B), (G, P, Kb, B)
        G, P, Ka, B = a.shape
        Kb = b.shape[2]
        ma, mb, ea, eb, w = _linear_operands(a, b, log_w)  # type: ignore[arg-type]
        K = w.shape[1]
        if K <= Kb:   # contract j first: the intermediate is (K, Ka) per pair
            t = torch.bmm(w.reshape(G * P, K * Ka, Kb), eb).view(G * P, K, Ka, B)
            s = _sum_over_i(t, ea)
        else:         # contract (i, j) at once: the intermediate is (Ka, Kb) per pair
            outer = (ea[:, :, None, :] * eb[:, None, :, :]).reshape(G * P, Ka * Kb, B)
            s = torch.bmm(w.reshape(G * P, K, Ka * Kb), outer)
        logs = safe_log(s).view(G, P, K, B) + (ma + mb).view(G, P, 1, B)
        out = logs[:, 0] if P == 1 else logsumexp(logs, 1)
        return out.reshape(G * K, B)

    def vjp(self, inputs: list[torch.Tensor], log_w: torch.Tensor | None, grad: torch.Tensor
            ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        """The einsum's gradients in closed form. With s_k = sum_ij w_kij a_i b_j (linear
        space, after the max shifts) and g_k the gradient of log s_k: a_i gets
        a_i sum_k (g_k / s_k) t_ki with t_ki = sum_j w_kij b_j, b_j gets b_j sum_ki w_kij
        q_ki with q_ki = (g_k / s_k) a_i, and w_kij gets w_kij sum_batch q_ki b_j. Every
        intermediate is (K, Ka, batch) per pair: autograd through `compute` instead zero-fills
        a whole (K, Ka, batch) tensor per term of the sum over i."""
        a, b = inputs
        G, P, Ka, B = a.shape
        Kb = b.shape[2]
        ma, mb, ea, eb, w4 = _linear_operands(a, b, log_w)  # type: ignore[arg-type]
        K = w4.shape[1]
        w = w4.reshape(G * P, K * Ka, Kb)
        t = torch.bmm(w, eb).view(G * P, K, Ka, B)
        s = _sum_over_i(t, ea)                                                # (GP, K, B)
        g = grad.view(G, 1, K, B)
        if P > 1:  # the gradient reaching pair p is its softmax share of the logsumexp
            logs = safe_log(s).view(G, P, K, B) + (ma + mb).view(G, P, 1, B)
            out = logsumexp(logs, 1)
            g = g * torch.where(torch.isneginf(logs), 0.0, torch.exp(logs - out[:, None]))
        g = g.reshape(G * P, K, B)
        gs = torch.where(s > 0, g / torch.where(s > 0, s, 1.0), 0.0)        # (GP, K, B)
        # t is read for the last time: scaled in place, then freed before q (of its size) is
        # made, so that one (K, Ka, batch) intermediate per pair is alive at a time
        grad_ea = t.mul_(gs[:, :, None]).sum(1)                               # (GP, Ka, B)
        del t
        q = (gs[:, :, None] * ea[:, None]).reshape(G * P, K * Ka, B)
        grad_eb = torch.bmm(w.transpose(1, 2), q)                             # (GP, Kb, B)
        grad_w = torch.bmm(q, eb.transpose(1, 2)) * w                         # (GP, K*Ka, Kb)
        grad_w = grad_w.view(G, P, K, Ka, Kb).transpose(1, 2).reshape(G * K, P * Ka * Kb)
        return [(ea * grad_ea).view(G, P, Ka, B), (eb * grad_eb).view(G, P, Kb, B)], grad_w


def _sum_over_i(t: torch.Tensor, ea: torch.Tensor) -> torch.Tensor:
    """sum_i t[:, :, i] * ea[:, None, i] for t (GP, K, Ka, B) and ea (GP, Ka, B), as Ka
    multiply-adds of (GP, K, B): a reduction over a short middle axis is slow, and the product
    made whole first would be a second tensor of t's size."""
    s = t[:, :, 0] * ea[:, None, 0]
    for i in range(1, t.shape[2]):
        s = torch.addcmul(s, t[:, :, i], ea[:, None, i])
    return s


def _linear_operands(a: torch.Tensor, b: torch.Tensor, log_w: torch.Tensor
                     ) -> tuple[torch.Tensor, ...]:
    """(ma, mb, exp(a - ma), exp(b - mb), exp(log_w)): the max shifts of (G, P, Ka, B) and
    (G, P, Kb, B) inputs, the shifted inputs as (G * P, Ka | Kb, B) and the weights as
    (G * P, K, Ka, Kb), for the einsum in linear space."""
    G, P, Ka, B = a.shape
    Kb = b.shape[2]
    K = log_w.shape[0] // G
    ma, mb = _small_max_shift(a), _small_max_shift(b)
    ea = torch.exp(a - ma).reshape(G * P, Ka, B)
    eb = torch.exp(b - mb).reshape(G * P, Kb, B)
    w = torch.exp(log_w).reshape(G, K, P, Ka, Kb).transpose(1, 2).reshape(G * P, K, Ka, Kb)
    return ma, mb, ea, eb, w


def _small_max_shift(x: torch.Tensor) -> torch.Tensor:
    """max_shift over axis 2 of (G, P, k, B), as k - 1 elementwise maxima (k is small)."""
    m = x[:, :, 0].detach()
    for i in range(1, x.shape[2]):
        m = torch.maximum(m, x[:, :, i].detach())
    m = m.unsqueeze(2)
    return torch.where(torch.isfinite(m), m, torch.zeros_like(m))
