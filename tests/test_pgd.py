"""Tests of dmmlib.attacks.pgd: constraints, greedy early stop, targeted, on/off basis, seeds, errors."""
import pytest
import torch
from torch import nn

from dmmlib.attacks.pgd import AttackResult, pgd, pgd_l2, pgd_linf

B, SHAPE, C = 12, (1, 6, 6), 4
N = 36


def _model(seed=0, bn=False):
    torch.manual_seed(seed)
    layers = [nn.Flatten(), nn.Linear(N, 32)]
    if bn:
        layers.append(nn.BatchNorm1d(32))
    layers += [nn.Tanh(), nn.Linear(32, C)]
    return nn.Sequential(*layers).eval()


def _data(seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((B, *SHAPE), generator=g)
    y = torch.randint(0, C, (B,), generator=g)
    return x, y


def _basis(k=5, seed=2):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(B, N, k, generator=g))
    return q


def _flat(t):
    return t.reshape(t.shape[0], -1)


@pytest.mark.parametrize("norm, mode", [("l2", None), ("l2", "on"), ("l2", "off"), ("linf", None)])
@pytest.mark.parametrize("random_start", [False, True])
def test_stays_in_ball_and_box(norm, mode, random_start):
    model = _model()
    x, y = _data()
    eps = 0.7 if norm == "l2" else 0.05
    basis = _basis() if mode else None
    r = pgd(model, x, y, norm=norm, eps=eps, step_size=eps / 3, steps=8, early_stop=False,
            random_start=random_start, basis=basis, basis_mode=mode, generator=torch.Generator().manual_seed(0))
    assert isinstance(r, AttackResult)
    assert r.delta.shape == x.shape and r.success.shape == (B,) and r.steps_used.shape == (B,)
    size = _flat(r.delta).norm(dim=1) if norm == "l2" else _flat(r.delta).abs().amax(dim=1)
    assert (size <= eps * (1 + 1e-5)).all()
    adv = x + r.delta
    assert adv.min() >= 0 and adv.max() <= 1
    assert (r.steps_used == 8).all()
    assert _flat(r.delta).norm(dim=1).min() > 0  # it moved


def test_success_flag_is_true_prediction_change():
    model = _model()
    x, y = _data()
    r = pgd_l2(model, x, y, eps=3.0, step_size=0.2, steps=30)
    pred = model(x + r.delta).argmax(1)
    assert torch.equal(r.success, pred != y)
    assert r.success.any()


def test_stops_at_first_success():
    """Greedy: steps_used is the first step at which the fixed-step trajectory succeeds,
    and the returned delta is the trajectory's delta at that step."""
    model = _model()
    x, y = _data()
    kw = dict(eps=2.0, step_size=0.15, loss="margin")
    T = 25
    r = pgd_l2(model, x, y, steps=T, early_stop=True, **kw)
    assert r.success.any() and (r.steps_used < T).any()
    first = torch.full((B,), T, dtype=torch.long)
    first[model(x).argmax(1) != y] = 0
    deltas = {0: torch.zeros_like(x)}
    for t in range(1, T + 1):
        rt = pgd_l2(model, x, y, steps=t, early_stop=False, **kw)
        deltas[t] = rt.delta
        newly = rt.success & (first == T) & (t < T)
        first[newly] = t
    assert torch.equal(r.steps_used[r.success], first[r.success])
    for i in torch.nonzero(r.success).flatten().tolist():
        torch.testing.assert_close(r.delta[i], deltas[int(r.steps_used[i])][i], atol=1e-6, rtol=1e-5)


def test_finished_samples_leave_the_batch():
    model = _model()
    x, y = _data()
    sizes = []

    def counting(z):
        sizes.append(z.shape[0])
        return model(z)

    r = pgd_l2(counting, x, y, eps=2.0, step_size=0.15, steps=25)
    assert sizes[0] == B
    assert sizes == sorted(sizes, reverse=True)
    # each sample is evaluated once per step it takes, plus once for the success check
    assert sum(sizes) == int(r.steps_used.sum()) + B


def test_targeted_reaches_target_on_easy_model():
    torch.manual_seed(0)
    W = torch.randn(C, N)
    model = lambda z: _flat(z) @ W.T  # noqa: E731 linear, well-conditioned
    x = torch.full((B, *SHAPE), 0.5)
    target = (model(x).argmax(1) + 1) % C
    for loss in ("margin", "ce"):
        r = pgd_l2(model, x, target, eps=3.0, step_size=0.1, steps=200, loss=loss, targeted=True)
        assert r.success.all()
        assert torch.equal(model(x + r.delta).argmax(1), target)


def test_binary_single_logit():
    torch.manual_seed(0)
    w = torch.randn(N)
    for squeeze in (True, False):
        model = (lambda z: _flat(z) @ w) if squeeze else (lambda z: (_flat(z) @ w)[:, None])
        x = torch.full((B, *SHAPE), 0.5) + 0.01 * torch.randn(B, *SHAPE)
        y = (model(x).reshape(-1) > 0).long()
        r = pgd_l2(model, x, y, eps=5.0, step_size=0.1, steps=100)
        assert r.success.all()
        assert torch.equal((model(x + r.delta).reshape(-1) > 0).long(), 1 - y)


def test_on_and_off_manifold_directions():
    model = _model()
    x = torch.full((B, *SHAPE), 0.5)  # box inactive for small eps
    y = model(x).argmax(1)
    U = _basis()
    kw = dict(eps=0.3, step_size=0.05, steps=5, early_stop=False)
    on = _flat(pgd_l2(model, x, y, basis=U, basis_mode="on", **kw).delta)
    off = _flat(pgd_l2(model, x, y, basis=U, basis_mode="off", **kw).delta)
    coeff_on = torch.bmm(U.transpose(1, 2), on[:, :, None])[:, :, 0]
    coeff_off = torch.bmm(U.transpose(1, 2), off[:, :, None])[:, :, 0]
    torch.testing.assert_close(coeff_on.norm(dim=1), on.norm(dim=1), atol=1e-5, rtol=1e-5)
    assert coeff_off.abs().max() < 1e-5
    assert on.norm(dim=1).min() > 0.1 and off.norm(dim=1).min() > 0.1


@pytest.mark.parametrize("mode", ["on", "off"])
def test_linf_with_a_basis_raises_before_any_work(mode):
    """sign(U U^T g) is not in span(U): an L-inf attack with a basis is refused, and says why."""
    calls = []

    def model(z):
        calls.append(1)
        return _model()(z)

    x, y = _data()
    with pytest.raises(ValueError, match="linf.*basis"):
        pgd(model, x, y, norm="linf", eps=0.05, step_size=0.01, steps=3, basis=_basis(), basis_mode=mode)
    with pytest.raises(ValueError, match="linf.*basis"):
        pgd_linf(model, x, y, eps=0.05, step_size=0.01, steps=3, basis=_basis(), basis_mode=mode)
    assert calls == []


def test_why_linf_with_a_basis_is_refused():
    """The step the refused combination would take, sign(U U^T g), lies mostly off span(U)."""
    g = torch.randn(B, N, generator=torch.Generator().manual_seed(3))
    from dmmlib.attacks.projection import basis_rows, project

    rows = basis_rows(_basis())
    s = project(g, rows, "on").sign()
    inside = project(s, rows, "on").norm(dim=1) / s.norm(dim=1)
    assert inside.max() < 0.9


PROJECTIONS = [  # (compiled kernel?, bmm chunk bytes): the numba kernel; bmm in one call; bmm in chunks of 5, 5, 2
    (True, None), (False, None), (False, 5 * 7 * N * 4)]


@pytest.mark.parametrize("kernel,chunk_bytes", PROJECTIONS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_projection_matches_dense_projector(monkeypatch, kernel, chunk_bytes, dtype):
    import dmmlib.attacks.projection as projection
    from dmmlib.attacks.projection import basis_rows, project, project_direction

    if not kernel:
        monkeypatch.setattr(projection, "_use_kernel", lambda v, rows: False)
    if chunk_bytes is not None:
        monkeypatch.setattr(projection, "_CHUNK_BYTES", chunk_bytes * (2 if dtype == torch.float64 else 1))
    U = _basis(k=7).to(dtype)
    v = torch.randn(B + 2, N, generator=torch.Generator().manual_seed(4), dtype=dtype)[:B]
    rows = basis_rows(U)
    assert projection._use_kernel(v, rows) == kernel
    P = U @ U.transpose(1, 2)
    on = (P @ v[:, :, None])[:, :, 0]
    tol = dict(atol=1e-5, rtol=1e-5) if dtype == torch.float32 else dict(atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(project(v, rows, "on"), on, **tol)
    torch.testing.assert_close(project(v, rows, "off"), v - on, **tol)
    # a subset of samples, read by position, with the projection's norm
    pos = torch.tensor([3, 0, 11, 3])
    p, pn = project_direction(v[pos], rows, "off", pos)
    torch.testing.assert_close(p, (v - on)[pos], **tol)
    torch.testing.assert_close(pn[:, 0], (v - on)[pos].norm(dim=1), **tol)


def test_projection_refuses_mismatched_shapes_and_positions():
    from dmmlib.attacks.projection import basis_rows, project, project_direction

    rows = basis_rows(_basis())
    with pytest.raises(ValueError, match="rows"):
        project(torch.zeros(B, N + 1), rows, "on")
    with pytest.raises(ValueError, match="bases"):
        project(torch.zeros(B - 1, N), rows, "on")
    for pos in (torch.tensor([0, B]), torch.tensor([-1, 0]), torch.tensor([0, 1], dtype=torch.int32)):
        with pytest.raises(ValueError, match="positions"):
            project_direction(torch.zeros(2, N), rows, "on", pos)


def test_single_step_l2_is_normalised_gradient():
    """pgd_l2(steps=1, step_size=eps, early_stop=False) = eps * g / ||g|| (FGM-L2), box inactive."""
    model = _model()
    x = torch.full((B, *SHAPE), 0.5)
    y = torch.arange(B) % C
    e = 0.1
    r = pgd_l2(model, x, y, eps=e, step_size=e, steps=1, early_stop=False, loss="ce")
    xg = x.clone().requires_grad_(True)
    nn.functional.cross_entropy(model(xg), y, reduction="sum").backward()
    g = _flat(xg.grad)
    torch.testing.assert_close(_flat(r.delta), e * g / g.norm(dim=1, keepdim=True), atol=1e-6, rtol=1e-5)


def test_matches_torchattacks_pgdl2():
    torchattacks = pytest.importorskip("torchattacks")
    model = _model()
    x, y = _data()
    eps, alpha, steps = 1.0, 0.1, 10
    ref = torchattacks.PGDL2(model, eps=eps, alpha=alpha, steps=steps, random_start=False)(x, y) - x
    ours = pgd_l2(model, x, y, eps=eps, step_size=alpha, steps=steps, loss="ce", early_stop=False).delta
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-4)


def test_linf_step_is_sign():
    model = _model()
    x = torch.full((B, *SHAPE), 0.5)
    y = torch.arange(B) % C
    r = pgd_linf(model, x, y, eps=0.03, step_size=0.01, steps=1, early_stop=False)
    assert torch.allclose(r.delta.abs(), torch.full_like(r.delta, 0.01))


def test_seed_fixes_random_start():
    model = _model()
    x, y = _data()
    kw = dict(eps=1.0, step_size=0.1, steps=5, random_start=True)
    a = pgd_l2(model, x, y, generator=torch.Generator().manual_seed(7), **kw)
    b = pgd_l2(model, x, y, generator=torch.Generator().manual_seed(7), **kw)
    c = pgd_l2(model, x, y, generator=torch.Generator().manual_seed(8), **kw)
    assert torch.equal(a.delta, b.delta) and torch.equal(a.steps_used, b.steps_used)
    assert not torch.equal(a.delta, c.delta)


def test_works_under_no_grad():
    model = _model()
    x, y = _data()
    with torch.no_grad():
        r = pgd_l2(model, x, y, eps=1.0, step_size=0.1, steps=3, early_stop=False)
    assert _flat(r.delta).norm(dim=1).min() > 0


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(eps=0.0), "eps"),
        (dict(eps=-1.0), "eps"),
        (dict(eps=float("nan")), "eps"),
        (dict(step_size=0.0), "step_size"),
        (dict(steps=0), "steps"),
        (dict(norm="l1"), "norm"),
        (dict(loss="hinge"), "loss"),
        (dict(basis_mode="on"), "basis"),
        (dict(basis=torch.zeros(B, N, 3), basis_mode="on"), "orthonormal"),
        (dict(basis=torch.zeros(B, N + 1, 3), basis_mode="on"), "shape"),
        (dict(basis=_basis(), basis_mode="sideways"), "basis_mode"),
    ],
)
def test_bad_arguments_raise(change, match):
    model = _model()
    x, y = _data()
    kw = dict(eps=1.0, step_size=0.1, steps=3)
    kw.update(change)
    with pytest.raises(ValueError, match=match):
        pgd_l2(model, x, y, **kw) if "norm" not in change else pgd(model, x, y, **kw)


def test_bad_inputs_raise():
    model = _model()
    x, y = _data()
    kw = dict(eps=1.0, step_size=0.1, steps=3)
    bad_x = x.clone()
    bad_x[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        pgd_l2(model, bad_x, y, **kw)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pgd_l2(model, x * 2, y, **kw)
    with pytest.raises(ValueError, match="y must"):
        pgd_l2(model, x, y[:-1], **kw)
    with pytest.raises(ValueError, match="y must"):
        pgd_l2(model, x, y.float(), **kw)
    with pytest.raises(ValueError, match="labels"):
        pgd_l2(model, x, y + C, **kw)
    with pytest.raises(ValueError, match="x must"):
        pgd_l2(model, x[0, 0, 0], y[:1], **kw)
    with pytest.raises(ValueError, match="batch norm"):
        pgd_l2(_model(bn=True).train(), x, y, **kw)
    pgd_l2(_model(bn=True).eval(), x, y, **kw)  # eval mode is fine


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_basis_entry_raises(bad):
    """Any nan or inf in any column is caught (the orthonormality probe reads every column)."""
    model = _model()
    x, y = _data()
    basis = _basis().clone()
    basis[1, 5, 2] = bad
    with pytest.raises(ValueError, match="non-finite"):
        pgd_l2(model, x, y, eps=1.0, step_size=0.1, steps=3, basis=basis, basis_mode="off")


def test_all_finite_screens_by_a_sum_and_checks_an_overflow_entry_by_entry():
    from dmmlib.attacks.pgd import all_finite

    big = torch.full((4, 3), 3e38)  # finite entries whose float32 sum overflows to inf
    assert not torch.isfinite(big.sum()) and all_finite(big)
    for bad in (float("nan"), float("inf"), -float("inf")):
        t = torch.rand(5, 7)
        t[3, 2] = bad
        assert not all_finite(t)
    t = torch.rand(5, 7)
    t[0, 0], t[4, 6] = float("inf"), -float("inf")  # inf - inf: a nan sum, still caught
    assert not all_finite(t) and all_finite(torch.rand(5, 7))


def test_active_subspace_compacts_lazily_and_projects_like_the_selected_rows():
    from dmmlib.attacks.projection import ActiveSubspace, basis_rows, project_direction

    rows = basis_rows(_basis())
    sub = ActiveSubspace(rows, "off")
    active = torch.arange(B)
    g = torch.Generator().manual_seed(5)
    kept_rows = []
    for keep in ([0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11], [1, 2, 3, 5, 6, 7, 8, 9], [0, 2, 4, 5, 6, 7], [1, 3]):
        keep = torch.tensor(keep)
        sub.keep(keep)
        active = active[keep]
        v = torch.randn(len(active), N, generator=g)
        p, pn = sub.project_direction(v)
        p_ref, pn_ref = project_direction(v, rows[active], "off")
        torch.testing.assert_close(p, p_ref, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(pn, pn_ref, atol=1e-6, rtol=1e-5)
        kept_rows.append(sub.rows.shape[0])
    # compacted only when fewer than 3/4 of the rows are active: 11/12 no, 8/12 yes, 6/8 no, 2/8 yes
    assert kept_rows == [12, 8, 8, 2]


@pytest.mark.parametrize("mode", ["on", "off"])
def test_greedy_with_basis_matches_full_trajectories(mode):
    """Early exit with a basis (lazily compacted rows) gives each sample the delta of its own
    trajectory at its first success."""
    model = _model()
    x, y = _data()
    U = _basis()
    kw = dict(eps=3.0, step_size=0.25, loss="margin", basis=U, basis_mode=mode)
    T = 30
    r = pgd_l2(model, x, y, steps=T, early_stop=True, **kw)
    assert r.success.sum() >= 3
    for t in sorted(set(r.steps_used[r.success].tolist())):
        full = pgd_l2(model, x, y, steps=t, early_stop=False, **kw) if t > 0 else None
        for i in torch.nonzero(r.success & (r.steps_used == t)).flatten().tolist():
            ref = torch.zeros_like(x[i]) if full is None else full.delta[i]
            torch.testing.assert_close(r.delta[i], ref, atol=1e-5, rtol=1e-4)
