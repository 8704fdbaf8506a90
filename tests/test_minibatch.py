"""Mini-batches: ``problem.subset`` is an unbiased estimate, and ``run(batch_size=...)`` is SGD.

The mean of the mini-batch gradient over every batch equals the full gradient
(enumerated exactly on a small set); a batch of all samples is plain GD; runs are
reproducible from the seed; bad arguments are rejected.
"""

import itertools

import numpy as np
import pytest

from optbook import GD, LeastSquares, LogisticRegression, Quadratic, run

RNG = np.random.default_rng(11)
PHI = RNG.standard_normal((3, 6))
Y = RNG.standard_normal(6)
LABELS = np.array([1.0, -1.0, 1.0, 1.0, -1.0, -1.0])


@pytest.mark.parametrize("problem", [LeastSquares(PHI, Y), LogisticRegression(PHI, LABELS)],
                         ids=["least-squares", "logistic"])
@pytest.mark.parametrize("B", [1, 2, 3, 6])
def test_subset_gradient_is_unbiased_without_replacement(problem, B):
    w = RNG.standard_normal(3)
    batches = [np.array(c) for c in itertools.combinations(range(6), B)]
    mean_grad = np.mean([problem.subset(b).grad(w) for b in batches], axis=0)
    mean_loss = np.mean([problem.subset(b).loss(w) for b in batches])
    np.testing.assert_allclose(mean_grad, problem.grad(w), rtol=1e-12, atol=1e-12)
    assert np.isclose(mean_loss, problem.loss(w), rtol=1e-12)


def test_subset_gradient_is_unbiased_with_replacement():
    problem, w = LeastSquares(PHI, Y), RNG.standard_normal(3)
    batches = [np.array(c) for c in itertools.product(range(6), repeat=2)]
    mean_grad = np.mean([problem.subset(b).grad(w) for b in batches], axis=0)
    np.testing.assert_allclose(mean_grad, problem.grad(w), rtol=1e-12, atol=1e-12)


def test_a_batch_of_every_sample_is_gradient_descent():
    problem, w0 = LeastSquares(PHI, Y), np.zeros(3)
    sgd = run(GD(0.05), problem, w0, 30, batch_size=6, rng=np.random.default_rng(0))
    gd = run(GD(0.05), problem, w0, 30)
    np.testing.assert_allclose(sgd.w, gd.w, rtol=1e-10, atol=1e-12)


def test_sgd_is_reproducible_from_the_seed_and_differs_between_seeds():
    problem, w0 = LeastSquares(PHI, Y), np.zeros(3)
    a = run(GD(0.05), problem, w0, 50, batch_size=2, rng=np.random.default_rng(5))
    b = run(GD(0.05), problem, w0, 50, batch_size=2, rng=np.random.default_rng(5))
    c = run(GD(0.05), problem, w0, 50, batch_size=2, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(a.w, b.w)
    assert not np.allclose(a.w, c.w)


def test_trajectory_records_the_full_loss_under_sgd():
    problem = LeastSquares(PHI, Y)
    tr = run(GD(0.05), problem, np.zeros(3), 20, batch_size=2, rng=np.random.default_rng(1))
    assert np.allclose(tr.loss, [problem.loss(w) for w in tr.w])
    assert np.allclose(tr.grad_norm, [np.linalg.norm(problem.grad(w)) for w in tr.w])


def test_subset_rejects_bad_indices():
    problem = LeastSquares(PHI, Y)
    for idx in ([], [6], [-1], [[0, 1]], [0.5]):
        with pytest.raises(ValueError, match="idx"):
            problem.subset(np.array(idx))


def test_run_rejects_bad_mini_batch_arguments():
    problem = LeastSquares(PHI, Y)
    with pytest.raises(ValueError, match="rng"):
        run(GD(0.1), problem, np.zeros(3), 5, batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        run(GD(0.1), problem, np.zeros(3), 5, batch_size=7, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="batch_size"):
        run(GD(0.1), problem, np.zeros(3), 5, batch_size=0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="subset"):
        run(GD(0.1), Quadratic(np.eye(3)), np.zeros(3), 5, batch_size=1,
            rng=np.random.default_rng(0))
    # with replacement a batch may be larger than the data set
    run(GD(0.01), problem, np.zeros(3), 5, batch_size=10, replace=True,
        rng=np.random.default_rng(0))
