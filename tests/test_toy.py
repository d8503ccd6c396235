"""The toy model: closed forms, finite-confidence losses, gradient descent, critical lr."""

import math

import numpy as np
import pytest
from problems import TOY_LOSS_CASES, TOY_TRAJECTORY_CASES
from scipy.integrate import solve_ivp
from scipy.special import expit
from scipy.stats import linregress

from ghostlearn import toy

# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("T", [1.0, 100.0, 1234.5])
def test_constants_match_the_formulas(T):
    assert toy.optimal_r(T) == pytest.approx(math.pi**2 / (4 * T**2), rel=1e-15)
    assert toy.no_return_r(T) == pytest.approx(math.pi**2 / (16 * T**2), rel=1e-15)
    assert toy.critical_lr(T) == pytest.approx(3 * math.pi**4 / 32 / T**5, rel=1e-14)
    # r* is where the escape time equals T
    assert toy.escape_time(toy.optimal_r(T)) == pytest.approx(T, rel=1e-14)


def test_critical_lr_at_T_100_is_the_papers_value():
    # SPEC: "about 9.13e-10 at T = 100"; the paper rounds to 9e-10.
    assert toy.critical_lr(100.0) == pytest.approx(9.13e-10, rel=1e-3)


def test_constants_accept_arrays():
    T = np.array([10.0, 100.0])
    np.testing.assert_allclose(toy.optimal_r(T), np.pi**2 / (4 * T**2), rtol=1e-15)


def test_escape_time_is_infinite_without_positive_r():
    np.testing.assert_array_equal(toy.escape_time([0.0, -1.0, -1e-12]), np.inf)
    assert toy.escape_time(1.0) == pytest.approx(math.pi / 2)


@pytest.mark.parametrize("case", TOY_TRAJECTORY_CASES, ids=lambda c: c.name)
def test_trajectory_closed_form_values(case):
    assert toy.trajectory(case.t, case.r) == pytest.approx(case.x, rel=1e-14, abs=1e-15)


@pytest.mark.parametrize("r", [1.0, 0.3, 2.5e-4, -0.5, -2.0])
def test_trajectory_satisfies_the_ode(r):
    t_end = 0.95 * toy.escape_time(r) if r > 0 else 5.0
    t = np.linspace(0.1, t_end, 50)
    h = 1e-5 * t_end
    dxdt = (toy.trajectory(t + h, r) - toy.trajectory(t - h, r)) / (2 * h)
    x = toy.trajectory(t, r)
    residual = dxdt - (x**2 + r)
    # central differences: error ~ h^2 x''' / 6, relative to the field's size
    assert np.max(np.abs(residual) / (x**2 + abs(r))) < 1e-6
    assert toy.trajectory(0.0, r) == 0.0


@pytest.mark.parametrize("r", [1.0, 0.05, -0.7])
def test_trajectory_matches_a_high_accuracy_ode_solve(r):
    t_end = 0.99 * toy.escape_time(r) if r > 0 else 10.0
    t = np.linspace(0, t_end, 40)
    sol = solve_ivp(
        lambda _, x: x**2 + r, (0, t_end), [0.0], t_eval=t, method="DOP853", rtol=1e-13, atol=1e-14
    )
    np.testing.assert_allclose(toy.trajectory(t, r), sol.y[0], rtol=1e-9, atol=1e-12)


def test_trajectory_blows_up_to_inf_without_nan():
    r = np.array([1.0, 1.0, 1.0, -1.0, 0.0])
    t = np.array([math.pi / 2 - 1e-9, math.pi / 2, 50.0, 1e6, 1e6])
    x = toy.trajectory(t, r)
    assert x[0] > 1e8
    np.testing.assert_array_equal(x[1:3], np.inf)
    assert x[3] == -1.0 and x[4] == 0.0
    assert not np.isnan(toy.trajectory(np.linspace(0, 100, 1001)[:, None], [1.0, -1.0])).any()


def test_threshold_time_reaches_the_threshold():
    r = np.array([1.0, 0.01, 3e-4])
    t = toy.threshold_time(r, 10.0)
    np.testing.assert_allclose(toy.trajectory(t, r), 10.0, rtol=1e-12)
    assert np.all(t < toy.escape_time(r))
    assert toy.threshold_time(-1.0, 10.0) == np.inf


def test_flow_is_x_squared_plus_r():
    np.testing.assert_array_equal(toy.flow([-2.0, 0.0, 3.0], -1.0), [3.0, -1.0, 8.0])


@pytest.mark.parametrize("case", TOY_LOSS_CASES, ids=lambda c: f"T={c.T:g} {c.name}")
def test_analytic_loss_and_gradient_closed_forms(case):
    assert toy.analytic_loss(case.r, case.T) == pytest.approx(case.loss, rel=1e-12, abs=1e-12)
    assert toy.escape_time(case.r) == pytest.approx(case.escape_time, rel=1e-14)
    assert toy.analytic_loss_grad(case.r, case.T) == pytest.approx(case.grad, rel=1e-12)


@pytest.mark.parametrize("T", [10.0, 100.0])
def test_analytic_loss_regimes_and_documented_values_at_the_kinks(T):
    r_star = toy.optimal_r(T)
    q = r_star / 4
    assert toy.analytic_loss(r_star, T) == pytest.approx(0.0, abs=1e-13 * T)
    assert toy.analytic_loss([-r_star, 0.0, 0.99 * q, q], T) == pytest.approx([T] * 4)
    assert toy.analytic_loss(1e6 * r_star, T) == pytest.approx(T, rel=2e-3)  # saturates
    # documented choices: right-hand slope at r*, zero at the point of no return
    assert toy.analytic_loss_grad(r_star, T) == pytest.approx(2 * T**3 / math.pi**2, rel=1e-14)
    assert toy.analytic_loss_grad(q, T) == 0.0
    assert toy.analytic_loss_grad([-1.0, 0.0, 0.5 * q], T) == pytest.approx([0.0] * 3)
    # one-sided limits around r*: -+2 T^3 / pi^2
    left = toy.analytic_loss_grad(r_star * (1 - 1e-12), T)
    assert left == pytest.approx(-2 * T**3 / math.pi**2, rel=1e-9)


@pytest.mark.parametrize("T", [10.0, 100.0])
def test_analytic_gradient_against_finite_differences(T):
    r_star = toy.optimal_r(T)
    # away from the kinks at r*/4 and r*
    r = r_star * np.array([0.3, 0.5, 0.9, 1.1, 2.0, 10.0, 100.0])
    h = 1e-6 * r
    fd = (toy.analytic_loss(r + h, T) - toy.analytic_loss(r - h, T)) / (2 * h)
    np.testing.assert_allclose(toy.analytic_loss_grad(r, T), fd, rtol=1e-6)
    # flat in the no-learning zone
    r_flat = r_star * np.array([-1.0, 0.0, 0.1, 0.2])
    fd_flat = (toy.analytic_loss(r_flat + 1e-3 * r_star, T) - toy.analytic_loss(r_flat, T)) / (
        1e-3 * r_star
    )
    np.testing.assert_array_equal(fd_flat, 0.0)


# --------------------------------------------------------------------------- finite c losses


def test_quadrature_loss_with_r_zero_is_closed_form():
    # x(t) = 0, so o = sigmoid(-c x_thr) throughout: L = T o^2 + T (1 - o)^2
    T, c, x_thr = 100.0, np.array([0.1, 0.5, 1.0]), 10.0
    o = expit(-c * x_thr)
    np.testing.assert_allclose(
        toy.quadrature_loss(0.0, T, c=c, x_thr=x_thr), T * o**2 + T * (1 - o) ** 2, rtol=1e-12
    )


def test_quadrature_loss_converges_to_the_analytic_loss():
    # The output switches on at the threshold time instead of t_esc; the shift is
    # atan(sqrt(r) / x_thr) / sqrt(r) <= 1 / x_thr, so |L - L_analytic| <~ 1 / x_thr.
    T = 10.0
    r_star = toy.optimal_r(T)
    r = r_star * np.linspace(-1, 4, 101)
    errors = []
    for big in (30.0, 300.0, 3000.0):
        diff = toy.quadrature_loss(r, T, c=big, x_thr=big) - toy.analytic_loss(r, T)
        errors.append(np.max(np.abs(diff)))
        assert errors[-1] <= 1.02 / big
        # on the saturation side the whole difference is that time shift
        one = toy.quadrature_loss(4 * r_star, T, c=big, x_thr=big) - toy.analytic_loss(
            4 * r_star, T
        )
        shift = math.atan(math.sqrt(4 * r_star) / big) / math.sqrt(4 * r_star)
        assert one == pytest.approx(shift, rel=2e-3)
    slope = np.polyfit(np.log([30.0, 300.0, 3000.0]), np.log(errors), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.05)


def test_euler_loss_converges_to_quadrature_with_order_one():
    T, c, x_thr = 10.0, 1.0, 10.0
    r_star = toy.optimal_r(T)
    r = r_star * np.array([-0.5, 0.3, 0.5, 0.8, 2.0, 5.0])
    exact = toy.quadrature_loss(r, T, c=c, x_thr=x_thr)
    dts = 0.1 / 2.0 ** np.arange(6)
    errors = np.array([np.abs(toy.euler_loss(r, T, c=c, x_thr=x_thr, dt=dt) - exact) for dt in dts])
    orders = [np.polyfit(np.log(dts), np.log(errors[:, j]), 1)[0] for j in range(r.size)]
    np.testing.assert_allclose(orders, 1.0, atol=0.1)
    assert errors[-1].max() < 0.02  # and it really gets close


def test_euler_loss_scheme_by_hand_for_two_steps():
    # T = dt = 1: x1 = 0 + (0 + r) = r, x2 = r + (r^2 + r); target 0 then 1.
    r, c, x_thr = 0.5, 2.0, 1.0
    x1 = r
    x2 = x1 + x1**2 + r
    expected = expit(c * (x1 - x_thr)) ** 2 + (expit(c * (x2 - x_thr)) - 1) ** 2
    assert toy.euler_loss(r, 1.0, c=c, x_thr=x_thr, dt=1.0) == pytest.approx(expected, rel=1e-14)


def test_euler_loss_vectorised_equals_one_at_a_time():
    T = 100.0
    r = toy.optimal_r(T) * np.linspace(-1, 2, 7)
    c = np.array([[0.1], [1.0]])
    batch = toy.euler_loss(r, T, c=c, x_thr=10.0)
    assert batch.shape == (2, 7)
    for i in range(2):
        for j in range(7):
            assert batch[i, j] == toy.euler_loss(r[j], T, c=float(c[i, 0]), x_thr=10.0)


@pytest.mark.parametrize("T", [10.0, 100.0])
def test_euler_loss_gradient_against_finite_differences(T):
    r_star = toy.optimal_r(T)
    r = r_star * np.array([-0.5, 0.2, 0.6, 1.5, 3.0])
    c = np.array([[0.1], [1.0], [2.0]])
    grad = toy.euler_loss_grad(r, T, c=c, x_thr=10.0)
    # With c = 2 the loss wiggles on a fine scale in r (the threshold is crossed between two
    # Euler steps), so h must be small; rounding noise is then ~ 1e-16 T / h ~ 1e-4.
    h = 1e-6 * r_star
    fd = (toy.euler_loss(r + h, T, c=c, x_thr=10.0) - toy.euler_loss(r - h, T, c=c, x_thr=10.0)) / (
        2 * h
    )
    np.testing.assert_allclose(grad, fd, rtol=1e-4, atol=1e-3)


def test_lower_confidence_gives_a_gradient_in_the_no_learning_zone():
    T = 100.0
    r = 0.1 * toy.optimal_r(T)
    grads = np.abs(toy.euler_loss_grad(r, T, c=np.array([2.0, 1.0, 0.5, 0.1]), x_thr=10.0))
    assert np.all(np.diff(grads) > 0)


def test_blow_up_never_makes_nan():
    T = 10.0
    r = np.array([1e8, 1e3, -1e3, 0.0, 1e-300])
    for f in (toy.euler_loss, toy.euler_loss_grad, toy.quadrature_loss):
        values = f(r, T, c=1.0, x_thr=10.0)
        assert np.all(np.isfinite(values)), f.__name__
    # an immediate blow-up switches the output on from the first step: loss = T
    assert toy.euler_loss(1e8, T, c=1.0, x_thr=10.0) == pytest.approx(T, rel=1e-12)
    assert toy.quadrature_loss(1e8, T, c=1.0, x_thr=10.0) == pytest.approx(T, rel=1e-3)


# --------------------------------------------------------------------------- gradient descent


def test_gradient_descent_epoch_convention_and_first_step():
    T = 100.0
    r_star = toy.optimal_r(T)
    lr = np.array([1e-10, 5e-10])
    r0 = np.array([10 * r_star, 0.7 * r_star, 0.1 * r_star])
    ds = toy.gradient_descent(T, lr, r0, 3)
    assert ds["r"].dims == ("lr", "instance", "epoch")
    assert ds.sizes == {"lr": 2, "instance": 3, "epoch": 4}
    np.testing.assert_array_equal(ds["epoch"], [0, 1, 2, 3])
    np.testing.assert_array_equal(ds["r"].isel(epoch=0), np.broadcast_to(r0, (2, 3)))
    step1 = r0 - lr[:, None] * toy.analytic_loss_grad(r0, T)
    np.testing.assert_array_equal(ds["r"].isel(epoch=1), step1)
    np.testing.assert_array_equal(ds["loss"], toy.analytic_loss(ds["r"].values, T))
    # the instance in the no-learning zone never moves
    np.testing.assert_array_equal(ds["r"].isel(instance=2), 0.1 * r_star)
    assert ds["stuck"].values[:, 2].all() and not ds["stuck"].values[:, 0].any()
    np.testing.assert_array_equal(ds["r_min"], ds["r"].min("epoch"))
    assert ds.attrs["alpha_star"] == toy.critical_lr(T)


def test_gradient_descent_batch_equals_single_runs_bit_for_bit():
    T = 100.0
    r_star = toy.optimal_r(T)
    lr = np.array([1e-10, 8e-10, 9.2e-10, 1e-9, 3e-9])
    r0 = np.random.default_rng(3).normal(10 * r_star, r_star / 10, size=(5, 4))
    batch = toy.gradient_descent(T, lr, r0, 2000)
    for i in range(5):
        for j in range(4):
            single = toy.gradient_descent(T, lr[i], r0[i, j], 2000)
            np.testing.assert_array_equal(single["r"].values[0, 0], batch["r"].values[i, j])
            assert single["stuck"].item() == batch["stuck"].values[i, j]


def test_gradient_descent_record_keeps_the_same_values():
    T = 100.0
    r0 = 10 * toy.optimal_r(T)
    full = toy.gradient_descent(T, [1e-10, 1e-9], [r0], 500)
    some = toy.gradient_descent(T, [1e-10, 1e-9], [r0], 500, record=[500, 0, 250])
    np.testing.assert_array_equal(some["epoch"], [0, 250, 500])
    np.testing.assert_array_equal(some["r"], full["r"].sel(epoch=[0, 250, 500]))
    np.testing.assert_array_equal(some["r_min"], full["r_min"])


@pytest.mark.parametrize("T", [30.0, 100.0])
def test_gradient_descent_below_and_above_the_critical_lr(T):
    r_star = toy.optimal_r(T)
    alpha = toy.critical_lr(T)
    r0 = np.random.default_rng(0).normal(10 * r_star, r_star / 10, size=20)
    ds = toy.gradient_descent(T, [0.95 * alpha, 1.1 * alpha], r0, 5000, record=[5000])
    below, above = ds.isel(lr=0), ds.isel(lr=1)
    assert np.all(below["r_min"] > r_star / 4)  # never entered the no-learning zone
    assert np.all(below["loss"] < 0.5 * T)  # and it learned (reached the oscillation)
    assert np.all(above["stuck"])
    np.testing.assert_array_equal(above["loss"], T)


def test_find_critical_lr_at_T_100_both_ways():
    res = toy.find_critical_lr(100.0)
    assert res.predicted == toy.critical_lr(100.0)
    # no run below alpha* can fail (a step from r >= r* lands at r - alpha pi/(4 r^1.5))
    assert 1.0 <= res.measured / res.predicted <= 1.03
    lo, hi = res.bracket
    assert hi == res.measured and hi - lo <= 1e-3 * hi
    check = toy.gradient_descent(100.0, [lo, hi], [res.r0], res.epochs, record=[res.epochs])
    np.testing.assert_array_equal(check["stuck"].values[:, 0], [False, True])


def test_find_critical_lr_at_another_T_and_custom_options():
    res = toy.find_critical_lr(37.0, rtol=1e-2, points=16, bracket=(1e-7, 1e-5))
    assert res.measured / res.predicted == pytest.approx(1.0, abs=0.03)
    assert res.bracket[1] - res.bracket[0] <= 1e-2 * res.bracket[1]


def test_critical_lr_scales_as_T_to_the_minus_5():
    T = np.array([10.0, 40.0, 160.0, 640.0])
    measured = [toy.find_critical_lr(t, rtol=1e-2, points=32).measured for t in T]
    fit = linregress(np.log(T), np.log(measured))
    assert fit.slope == pytest.approx(-5.0, abs=0.1)


def test_find_critical_lr_refuses_a_bracket_without_a_transition():
    alpha = toy.critical_lr(100.0)
    with pytest.raises(ValueError, match="bracket lower end .* already fails"):
        toy.find_critical_lr(100.0, bracket=(2 * alpha, 10 * alpha))
    with pytest.raises(ValueError, match="bracket upper end .* never fails"):
        toy.find_critical_lr(100.0, bracket=(0.1 * alpha, 0.5 * alpha))


# --------------------------------------------------------------------------- bad input

R = 1e-4


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: toy.optimal_r(0.0), "T must be > 0, got 0.0"),
        (lambda: toy.optimal_r(-5.0), "T must be > 0, got -5.0"),
        (lambda: toy.critical_lr(float("nan")), "T must be finite, got nan"),
        (lambda: toy.no_return_r(-1.0), "T must be > 0, got -1.0"),
        (lambda: toy.analytic_loss(R, 0.0), "T must be > 0, got 0.0"),
        (lambda: toy.analytic_loss(float("nan"), 100.0), "r must be finite, got nan"),
        (lambda: toy.analytic_loss_grad([R, np.nan], 100.0), "r must be finite, got an array"),
        (lambda: toy.analytic_loss(R, [1.0, 2.0]), "T must be a scalar"),
        (lambda: toy.escape_time(np.inf), "r must be finite, got inf"),
        (lambda: toy.trajectory(-1.0, R), "t must be >= 0, got -1.0"),
        (lambda: toy.trajectory(np.nan, R), "t must be finite, got nan"),
        (lambda: toy.threshold_time(R, 0.0), "x_thr must be > 0, got 0.0"),
        (lambda: toy.euler_loss(R, 100.0, c=0.0, x_thr=10.0), "c must be > 0, got 0.0"),
        (lambda: toy.euler_loss(R, 100.0, c=-1.0, x_thr=10.0), "c must be > 0, got -1.0"),
        (lambda: toy.euler_loss(R, 100.0, c=np.nan, x_thr=10.0), "c must be finite, got nan"),
        (lambda: toy.euler_loss(R, 100.0, c=1.0, x_thr=-2.0), "x_thr must be > 0, got -2.0"),
        (lambda: toy.euler_loss(R, 100.0, c=1.0, x_thr=10.0, dt=0.0), "dt must be > 0, got 0.0"),
        (lambda: toy.euler_loss(R, 100.0, c=1.0, x_thr=10.0, dt=-0.1), "dt must be > 0, got -0.1"),
        (lambda: toy.euler_loss(R, 100.0, c=1.0, x_thr=10.0, dt=0.3), "T/dt must be a whole"),
        (lambda: toy.euler_loss(R, -1.0, c=1.0, x_thr=10.0), "T must be > 0, got -1.0"),
        (lambda: toy.euler_loss_grad(np.nan, 1.0, c=1.0, x_thr=1.0), "r must be finite, got nan"),
        (lambda: toy.quadrature_loss(R, 100.0, c=0.0, x_thr=10.0), "c must be > 0, got 0.0"),
        (lambda: toy.quadrature_loss(R, np.nan, c=1.0, x_thr=10.0), "T must be finite, got nan"),
        (lambda: toy.gradient_descent(0.0, 1e-10, R, 10), "T must be > 0, got 0.0"),
        (lambda: toy.gradient_descent(100.0, 0.0, R, 10), "lr must be > 0, got 0.0"),
        (lambda: toy.gradient_descent(100.0, [1e-10, -0.1], R, 10), "lr must be > 0, got -0.1"),
        (lambda: toy.gradient_descent(100.0, np.nan, R, 10), "lr must be finite, got nan"),
        (lambda: toy.gradient_descent(100.0, 1e-10, R, 0), "epochs must be >= 1, got 0"),
        (lambda: toy.gradient_descent(100.0, 1e-10, R, 2.5), "epochs must be an integer, got 2.5"),
        (lambda: toy.gradient_descent(100.0, 1e-10, np.nan, 10), "r0 must be finite, got nan"),
        (
            lambda: toy.gradient_descent(100.0, [1e-10, 2e-10], np.ones((3, 2)), 10),
            r"r0 must have shape \(n_instance,\) or \(n_lr, n_instance\)",
        ),
        (lambda: toy.gradient_descent(100.0, 1e-10, R, 10, record=[11]), "record must lie in"),
        (lambda: toy.find_critical_lr(0.0), "T must be > 0, got 0.0"),
        (lambda: toy.find_critical_lr(-5.0), "T must be > 0, got -5.0"),
        (lambda: toy.find_critical_lr(np.nan), "T must be finite, got nan"),
        (lambda: toy.find_critical_lr(100.0, epochs=0), "epochs must be >= 1, got 0"),
        (lambda: toy.find_critical_lr(100.0, rtol=0.0), r"rtol must be in \(0, 1\), got 0.0"),
        (lambda: toy.find_critical_lr(100.0, rtol=np.nan), "rtol must be finite, got nan"),
        (lambda: toy.find_critical_lr(100.0, points=2), "points must be >= 3, got 2"),
        (lambda: toy.find_critical_lr(100.0, bracket=(2.0, 1.0)), "bracket must be a finite"),
        (lambda: toy.find_critical_lr(100.0, bracket=(-1.0, 1.0)), "bracket must be > 0"),
    ],
)
def test_bad_input_is_rejected_with_a_named_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()
