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
the theme model's problems; the default here, 1e-6, is tighter). The
Hessian-vector products inside conjugate gradients are float32 (they only choose the
step); gradients, objective values and the stopping test are float64, so the optimum
reached is the float64 one. Single-threaded sparse products: a fit is deterministic.

``LinearScorer`` holds one fitted problem with ``predict_proba`` and
``decision_function`` as a scikit-learn binary classifier has them.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import sparse
from scipy.special import expit

ARMIJO = 1e-4  # sufficient decrease of the line search
MAX_HALVINGS = 30


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


def _objective(Z: np.ndarray, S: np.ndarray, W: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 0.5 * ((w * w).sum(axis=0) + b * b) + (W * np.logaddexp(0.0, -S * Z)).sum(axis=0)


def fit_logistic_batch(X: sparse.spmatrix, Y: np.ndarray, W: np.ndarray, free: np.ndarray | None = None,
                       tol: float = 1e-6, max_iter: int = 100,
                       init: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit the problems (columns of ``Y``, ``W``, ``free``) on rows ``X``; see the module docstring.

    ``X``: rows x features (sparse or dense); ``Y``: rows x problems of 0/1 labels;
    ``W``: rows x problems of non-negative weights (C x class weight x sample weight;
    0 leaves a row out of that problem); ``free``: features x problems, True where the
    coefficient may be non-zero (default: all); ``init``: (coef, intercept) to start
    from (default 0; the stopping rule still refers to the gradient at 0). Returns (coef: features x problems,
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
    XT = X.T  # a CSC view: X' times a block is a scatter over the rows of X
    # Hessian-vector products in float32 (they only steer the step: every gradient, value
    # and stopping test is float64, so the optimum reached is the float64 one)
    X32 = X.astype(np.float32)
    X32T = X32.T
    X2T = X.multiply(X).tocsr().T
    S = 2.0 * Y - 1.0
    w = np.zeros((d, P))
    b = np.zeros(P)
    Z = np.zeros((n, P))
    n_iter = np.zeros(P, dtype=int)

    def gradient(Z, w, b, cols):
        p = expit(Z)
        G = W[:, cols] * (p - Y[:, cols])
        gw = w + np.asarray(XT @ G) * F[:, cols]
        gb = b + G.sum(axis=0)
        return gw, gb, p

    gw, gb, prob = gradient(Z, w, b, slice(None))
    gnorm0 = np.sqrt((gw * gw).sum(axis=0) + gb * gb)
    if init is not None:
        w = np.array(init[0], dtype=float).reshape(d, P) * F
        b = np.array(init[1], dtype=float).reshape(P)
        Z = np.asarray(X @ w) + b
        gw, gb, prob = gradient(Z, w, b, slice(None))
    gnorm = np.sqrt((gw * gw).sum(axis=0) + gb * gb)
    fval = _objective(Z, S, W, w, b)
    gstart = np.maximum(gnorm, np.finfo(float).tiny)  # the forcing term is relative to the start
    for _ in range(max_iter):
        act = np.where(gnorm > tol * gnorm0)[0]
        if len(act) == 0:
            break
        n_iter[act] += 1
        Fa, Wa = F[:, act], W[:, act]
        D = Wa * prob[:, act] * (1.0 - prob[:, act])
        Mw = 1.0 + np.asarray(X2T @ D) * Fa  # diagonal of the Hessian (masked coordinates: 1)
        Mb = 1.0 + D.sum(axis=0)
        ga_w, ga_b = gw[:, act], gb[act]
        eta = np.minimum(0.1, np.sqrt(gnorm[act] / gstart[act]))
        # preconditioned conjugate gradients for H s = -g, every problem its own column
        sw = np.zeros_like(ga_w)
        sb = np.zeros_like(ga_b)
        rw, rb = -ga_w, -ga_b.copy()
        zw, zb = rw / Mw, rb / Mb
        pw, pb = zw.copy(), zb.copy()
        rz = (rw * zw).sum(axis=0) + rb * zb
        goal = eta * gnorm[act]
        live = np.ones(len(act), dtype=bool)
        cached = None
        for _cg in range(d + 1):
            rnorm = np.sqrt((rw * rw).sum(axis=0) + rb * rb)
            live &= rnorm > goal
            cols = np.where(live)[0]
            if len(cols) == 0:
                break
            if len(cols) == len(live):
                cols = slice(None)  # every problem still running: views, not copies
            if cached is None or not np.array_equal(cached, live):  # the running set changed
                cached, Dc, Fc = live.copy(), D[:, cols], Fa[:, cols]
            U = np.asarray(X32 @ pw[:, cols].astype(np.float32)) + pb[cols].astype(np.float32)
            U *= Dc
            Hw = pw[:, cols] + np.asarray(X32T @ U, dtype=float) * Fc
            Hb = pb[cols] + U.sum(axis=0, dtype=float)
            curv = (pw[:, cols] * Hw).sum(axis=0) + pb[cols] * Hb
            alpha = rz[cols] / curv
            sw[:, cols] += alpha * pw[:, cols]
            sb[cols] += alpha * pb[cols]
            rw[:, cols] -= alpha * Hw
            rb[cols] -= alpha * Hb
            zw_c, zb_c = rw[:, cols] / Mw[:, cols], rb[cols] / Mb[cols]
            rz_new = (rw[:, cols] * zw_c).sum(axis=0) + rb[cols] * zb_c
            beta = rz_new / rz[cols]
            rz[cols] = rz_new
            pw[:, cols] = zw_c + beta * pw[:, cols]
            pb[cols] = zb_c + beta * pb[cols]
        # backtracking line search along s, each problem its own step
        XS = np.asarray(X @ sw) + sb
        slope = (ga_w * sw).sum(axis=0) + ga_b * sb
        step = np.ones(len(act))
        Za, wa, ba = Z[:, act], w[:, act], b[act]
        f_old = fval[act]
        todo = np.ones(len(act), dtype=bool)
        f_new = f_old.copy()
        for _h in range(MAX_HALVINGS):
            cols = np.where(todo)[0]
            if len(cols) == 0:
                break
            t = step[cols]
            trial = _objective(Za[:, cols] + t * XS[:, cols], S[:, act[cols]], Wa[:, cols],
                               wa[:, cols] + t * sw[:, cols], ba[cols] + t * sb[cols])
            ok = trial <= f_old[cols] + ARMIJO * t * slope[cols]
            f_new[cols[ok]] = trial[ok]
            todo[cols[ok]] = False
            step[cols[~ok]] *= 0.5
        step[todo] = 0.0  # no decrease found: the problem is at its optimum to rounding
        f_new[todo] = f_old[todo]
        w[:, act] = wa + step * sw
        b[act] = ba + step * sb
        Z[:, act] = Za + step * XS
        fval[act] = f_new
        g_w, g_b, p_act = gradient(Z[:, act], w[:, act], b[act], act)
        gw[:, act], gb[act], prob[:, act] = g_w, g_b, p_act
        gnorm[act] = np.sqrt((g_w * g_w).sum(axis=0) + g_b * g_b)
        gnorm[act[todo]] = 0.0  # stalled: stop it
    else:
        if (gnorm > tol * gnorm0).any():
            warnings.warn(f"fit_logistic_batch: {int((gnorm > tol * gnorm0).sum())} problem(s) did not reach "
                          f"tol={tol} in {max_iter} Newton steps", RuntimeWarning, stacklevel=2)
    return w * F, b, n_iter
