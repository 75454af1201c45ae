"""L2-penalised logistic regressions on one shared feature matrix, fitted together by Newton's method.

The theme model's corpus expansion fits, for every theme, one classifier per
cross-validation fold and one on all documents: problems on the same TF-IDF rows that
differ only in their labels, their instance weights (a fold's held-out rows weigh 0)
and the columns they may use (a theme's own seed columns are masked). Fitted one at a
time, each problem multiplies the matrix by one vector at every step; fitted together,
every step multiplies it by a block of vectors, which costs far less per problem.

``fit_logistic_batch(X, Y, W, free, tol)`` minimises, for each problem p (a column of
``Y``, ``W`` and ``free``),

    0.5 (|w_p|^2 + b_p^2) + sum_i W[i, p] log(1 + exp(-s_ip (x_i . w_p + b_p))),

with s_ip = +1 where Y[i, p] = 1 and -1 where it is 0, and w_p zero outside
``free[:, p]``: the objective of liblinear's L2-regularised logistic regression
(``L2R_LR``; scikit-learn's ``LogisticRegression(solver="liblinear")``, whose
intercept is a feature of value 1, penalised like the others, and whose C,
class and sample weights make up W). Newton's method: each step from conjugate
gradients on Hessian-vector products with a diagonal preconditioner, stopped at a
relative residual of min(0.1, sqrt(|g| / |g_start|)) (g_start: the gradient where the
fit starts, 0 or ``init``), and an Armijo backtracking line
search; a problem stops when its gradient norm is at most ``tol`` times its norm at
w = 0 (liblinear stops at 1e-4 x min(positives, negatives) / rows, about 2e-5 for
the theme model's problems; the default here, 1e-6, is tighter). The intercept is
carried as a last column of ones, so every product serves it too. Conjugate gradients
run in float32, vectors and Hessian-vector products alike (they only choose the step;
a problem whose float32 curvature is no longer positive keeps the step it has);
gradients, objective values, the line search and the stopping test are float64, so
the optimum reached is the float64 one.

Problems are independent: they are dealt into ``BLOCKS`` contiguous blocks (when each
holds at least ``MIN_BLOCK``; ``problem_blocks``), and each block is solved in its own
thread (scipy's sparse products and numpy's array operations release the GIL, so the
blocks run on separate cores). The split depends on the number of problems only, and a
block's arithmetic does not depend on the others, so a fit is the same, bit for bit,
with one thread or several, on any machine (tested).

``LinearScorer`` holds one fitted problem with ``predict_proba`` and
``decision_function`` as a scikit-learn binary classifier has them.
"""
from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from scipy import sparse
from scipy.special import expit

ARMIJO = 1e-4  # sufficient decrease of the line search
MAX_HALVINGS = 30
BLOCKS = 2  # problems are solved in this many blocks, each in its own thread
MIN_BLOCK = 8  # ... when every block holds at least this many


class LinearScorer:
    """A fitted binary logistic model: ``coef_`` (1 x features), ``intercept_`` (1,), ``n_iter_``."""

    def __init__(self, coef: np.ndarray, intercept: float, n_iter: int = 0):
        self.coef_ = np.asarray(coef, dtype=float).reshape(1, -1)
        self.intercept_ = np.array([float(intercept)])
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = self.coef_.shape[1]
        self.n_iter_ = np.array([int(n_iter)])

    def decision_function(self, X) -> np.ndarray:
        return np.asarray(X @ self.coef_.ravel()).ravel() + self.intercept_[0]

    def predict_proba(self, X) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])


def _loss(margins: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Per problem (column), sum_i W[i] log(1 + exp(-margin_i)): the weighted logistic loss,
    as log1p(exp(-|m|)) + max(-m, 0), which never overflows."""
    out = np.abs(margins)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(-margins, 0.0)
    out *= W
    return out.sum(axis=0)


def fit_logistic_batch(X: sparse.spmatrix, Y: np.ndarray, W: np.ndarray, free: np.ndarray | None = None,
                       tol: float = 1e-6, max_iter: int = 100,
                       init: tuple[np.ndarray, np.ndarray] | None = None,
                       workers: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit the problems (columns of ``Y``, ``W``, ``free``) on rows ``X``; see the module docstring.

    ``X``: rows x features (sparse or dense); ``Y``: rows x problems of 0/1 labels;
    ``W``: rows x problems of non-negative weights (C x class weight x sample weight;
    0 leaves a row out of that problem); ``free``: features x problems, True where the
    coefficient may be non-zero (default: all); ``init``: (coef, intercept) to start
    from (default 0; the stopping rule still refers to the gradient at 0); ``workers``:
    threads solving the blocks (default: one per block, at most the CPUs this process
    may use; the result does not depend on it). Returns (coef: features x problems,
    intercept: problems, Newton iterations per problem).
    """
    X = sparse.csr_matrix(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    W = np.asarray(W, dtype=float)
    n, d = X.shape
    if Y.ndim != 2 or Y.shape[0] != n or W.shape != Y.shape:
        raise ValueError(f"Y and W must both be rows x problems ({n} x P), got {Y.shape} and {W.shape}")
    if not np.isin(Y, (0.0, 1.0)).all() or (W < 0).any() or not np.isfinite(W).all():
        raise ValueError("Y must hold 0/1 labels and W finite non-negative weights")
    P = Y.shape[1]
    F = np.ones((d, P)) if free is None else np.asarray(free, dtype=float)
    if F.shape != (d, P):
        raise ValueError(f"free must be features x problems ({d} x {P}), got {F.shape}")
    # the intercept is a last feature of value 1, penalised like the others (as in liblinear)
    # and never masked: every product below carries it
    Xa = sparse.hstack([X, np.ones((n, 1))], format="csr")
    X32 = Xa.astype(np.float32)  # conjugate gradients run in float32 (they only choose the step)
    # X' times a block is a scatter over the rows of X (CSC views)
    rows = _Rows(Xa, Xa.T, X32, X32.T, Xa.multiply(Xa).tocsr().T)
    Fa = np.vstack([F, np.ones((1, P))])
    w0 = np.zeros((d + 1, P))
    if init is not None:
        w0[:d] = np.array(init[0], dtype=float).reshape(d, P) * F
        w0[d] = np.array(init[1], dtype=float).reshape(P)
    blocks = problem_blocks(P)
    workers = min(len(blocks), usable_cpus() if workers is None else max(1, int(workers)))

    def solve(cols):
        return _newton(rows, Y[:, cols], W[:, cols], Fa[:, cols], w0[:, cols], init is not None, tol, max_iter)

    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            solved = list(pool.map(solve, blocks))
    else:
        solved = [solve(cols) for cols in blocks]
    w = np.hstack([ws for ws, _, _ in solved]) if solved else w0
    n_iter = np.concatenate([it for _, it, _ in solved]) if solved else np.zeros(0, dtype=int)
    open_ = sum(k for _, _, k in solved)
    if open_:
        warnings.warn(f"fit_logistic_batch: {open_} problem(s) did not reach tol={tol} in {max_iter} Newton steps",
                      RuntimeWarning, stacklevel=2)
    return w[:d] * F, w[d].copy(), n_iter


class _Rows(NamedTuple):
    """The rows with the intercept's column, and the products' forms of them."""
    Xa: sparse.csr_matrix
    XaT: sparse.csc_matrix
    X32: sparse.csr_matrix
    X32T: sparse.csc_matrix
    X2T: sparse.csc_matrix


def problem_blocks(n_problems: int) -> list[np.ndarray]:
    """The problems' columns dealt into contiguous blocks, each solved on its own: ``BLOCKS``
    blocks when every one would hold at least ``MIN_BLOCK`` problems, else one. The split
    depends on the number of problems only, so a fit is the same on any machine."""
    k = BLOCKS if n_problems >= BLOCKS * MIN_BLOCK else 1
    return [c for c in np.array_split(np.arange(n_problems), k) if len(c)]


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _newton(rows: _Rows, Y: np.ndarray, W: np.ndarray, Fa: np.ndarray, w: np.ndarray, warm: bool,
            tol: float, max_iter: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Newton's method on one block of problems from ``w`` (features + 1 x problems, the
    intercept last); gives (w, iterations per problem, problems left above ``tol``)."""
    Xa, XaT, X32, X32T, X2T = rows
    n, P = Y.shape
    w = w.copy()
    S = 2.0 * Y - 1.0
    YW = Y * W
    Z = np.zeros((n, P))
    n_iter = np.zeros(P, dtype=int)

    def gradient(Z, w, cols):
        """The gradient at scores ``Z`` and the probabilities it used."""
        prob = expit(Z)
        return w + np.asarray(XaT @ (W[:, cols] * prob - YW[:, cols])) * Fa[:, cols], prob

    g, prob = gradient(Z, np.zeros_like(w), slice(None))
    gnorm0 = np.sqrt((g * g).sum(axis=0))
    if warm:
        Z = np.asarray(Xa @ w)
        g, prob = gradient(Z, w, slice(None))
    gnorm = np.sqrt((g * g).sum(axis=0))
    fval = 0.5 * (w * w).sum(axis=0) + _loss(S * Z, W)
    gstart = np.maximum(gnorm, np.finfo(float).tiny)  # the forcing term is relative to the start
    for _ in range(max_iter):
        act = np.where(gnorm > tol * gnorm0)[0]
        if len(act) == 0:
            break
        A = slice(None) if len(act) == P else act  # every problem running: views, not copies
        n_iter[act] += 1
        pa = prob[:, A]
        D = W[:, A] * pa * (1.0 - pa)
        M = 1.0 + np.asarray(X2T @ D) * Fa[:, A]  # diagonal of the Hessian (masked coordinates: 1)
        D32, F32, Minv = D.astype(np.float32), Fa[:, A].astype(np.float32), (1.0 / M).astype(np.float32)
        ga = g[:, A]
        goal = (np.minimum(0.1, np.sqrt(gnorm[act] / gstart[act])) * gnorm[act]).astype(np.float32)
        s = _conjugate_gradients(X32, X32T, D32, F32, Minv, (-ga).astype(np.float32), goal).astype(float)
        # backtracking line search along s, each problem its own step
        XS = np.asarray(Xa @ s)
        slope = (ga * s).sum(axis=0)
        step = np.ones(len(act))
        Za, wa, Sa, Wa = Z[:, A], w[:, A], S[:, A], W[:, A]
        f_old = fval[act]
        todo = np.ones(len(act), dtype=bool)
        f_new = f_old.copy()
        for _h in range(MAX_HALVINGS):
            cols = np.where(todo)[0]
            if len(cols) == 0:
                break
            sel = slice(None) if len(cols) == len(todo) else cols
            t = step[sel]
            wt = wa[:, sel] + t * s[:, sel]
            trial = 0.5 * (wt * wt).sum(axis=0) + _loss(Sa[:, sel] * (Za[:, sel] + t * XS[:, sel]), Wa[:, sel])
            ok = trial <= f_old[sel] + ARMIJO * t * slope[sel]
            f_new[cols[ok]] = trial[ok]
            todo[cols[ok]] = False
            step[cols[~ok]] *= 0.5
        step[todo] = 0.0  # no decrease found: the problem is at its optimum to rounding
        f_new[todo] = f_old[todo]
        w[:, A] = wa + step * s
        Z[:, A] = Za + step * XS
        fval[act] = f_new
        g_a, p_a = gradient(Z[:, A], w[:, A], A)
        g[:, A], prob[:, A] = g_a, p_a
        gnorm[act] = np.sqrt((g_a * g_a).sum(axis=0))
        gnorm[act[todo]] = 0.0  # stalled: stop it
    return w, n_iter, int((gnorm > tol * gnorm0).sum())


def _conjugate_gradients(X, XT, D, F, Minv, r, goal):
    """Preconditioned conjugate gradients for H s = r, one problem per column, in float32.

    H p = p + X' (D * (X p)) * F (``F`` masks coordinates); ``Minv``: the inverse of H's
    diagonal; a problem stops when its residual norm is at most ``goal``, when its
    curvature is no longer positive (rounding) or after as many steps as coordinates.
    Problems still running share each product; those done drop out of it.
    """
    s = np.zeros_like(r)
    z = r * Minv
    p = z.copy()
    rz = (r * z).sum(axis=0)
    live = np.ones(r.shape[1], dtype=bool)
    cached = None
    for _ in range(r.shape[0]):
        live &= np.sqrt((r * r).sum(axis=0)) > goal
        cols = np.where(live)[0]
        if len(cols) == 0:
            break
        sel = slice(None) if len(cols) == len(live) else cols
        if cached is None or not np.array_equal(cached, live):  # the running set changed
            cached, Dc, Fc, Mc = live.copy(), D[:, sel], F[:, sel], Minv[:, sel]
        pc = p[:, sel]
        U = np.asarray(X @ pc)
        U *= Dc
        H = np.asarray(XT @ U)
        H *= Fc
        H += pc
        curv = (pc * H).sum(axis=0)
        bad = ~(curv > 0)
        if bad.any():  # no descent left in float32 for these: keep their step so far
            live[cols[bad]] = False
            curv[bad] = np.inf
        alpha = rz[sel] / curv
        s[:, sel] += alpha * pc
        rc = r[:, sel] - alpha * H
        r[:, sel] = rc
        zc = rc * Mc
        rz_new = (rc * zc).sum(axis=0)
        beta = rz_new / rz[sel]
        rz[sel] = rz_new
        p[:, sel] = zc + beta * pc
    return s
