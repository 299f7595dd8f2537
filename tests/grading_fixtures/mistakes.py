"""Known mistakes in the course's own notebooks, one per notebook, for grading them as a student who slipped.

``MISTAKES["week/notebook"] = (grade_id, text, slip, costs)``: the answer cell's grade_id, a piece of its solution
and the slip that replaces it (a refactor that moves the text fails loudly), and the test cells the slip must cost,
all their points; every other graded cell keeps all of its. tests/test_grading_roundtrip.py grades the notebooks of
its ``SAMPLE`` with them in ``make test``; ``python benchmarks/regrade_course.py --round-trip`` grades every notebook
listed here. Each slip is a typical wrong answer, not a stub: the check must name it, not merely fail.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

MISTAKES = {
    "week1/01_linear_regression": ("mse_grad", "dw = 2.0 / n * X.T @ residual", "dw = 1.0 / n * X.T @ residual",
                                   {"test_mse_grad"}),
    "week1/02_data_handling": ("standardize", "(other - mean) / std", "(other - other.mean(axis=0)) / std",
                               {"test_standardize"}),
    "week1/03_binary_classification": ("two_layer_loss", "dh = relu_backward(da, cache_relu)", "dh = da",
                                       {"test_two_layer_loss"}),
    "week1/04_multiclass_classification": ("cross_entropy", "return float(loss), dscores / n",
                                           "return float(loss), dscores", {"test_cross_entropy"}),
    "week1/05_gradient_checking": ("rel_error", "np.maximum(1e-8, np.abs(a) + np.abs(b))", "(np.abs(a) + np.abs(b))",
                                   {"test_rel_error"}),
    "week1/06_numpy_to_pytorch": ("sgd_update", "p.grad.zero_()", "pass", {"test_sgd_update"}),
    "week2/02_networks_in_pytorch": ("softmax", "e = (z - z.max(dim=1, keepdim=True).values).exp()", "e = z.exp()",
                                     {"test_softmax"}),
    "week2/03_data": ("make_transform", "T.Compose([T.ToTensor(), T.Normalize(mean, std)])",
                      "T.Compose([T.ToTensor()])", {"test_make_transform"}),
    "week2/04_mnist_mlp": ("per_class_accuracy", "torch.stack([(preds[targets == c] == c)",
                           "torch.stack([(targets[preds == c] == c)", {"test_per_class_accuracy"}),
    "week3/01_convolution_from_scratch": ("convnet_loss", "loss += 0.5 * reg * sum(", "loss += reg * sum(",
                                          {"test_convnet_loss"}),
    "week3/02_filters": ("kernel_effect", "total = float(np.sum(kernel))", "total = float(np.mean(kernel))",
                         {"test_kernel_effect"}),
    "week4/01_optimizers_from_scratch": (
        "nesterov", 'next_w = w - config["learning_rate"] * (g + config["momentum"] * v)',
        'next_w = w - config["learning_rate"] * v', {"test_nesterov"}),
    "week4/03_batch_normalisation": ("spatial_batchnorm", "batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, c)",
                                     "batchnorm_forward(x.reshape(-1, c)", {"test_spatial_batchnorm"}),
    "week4/04_initialisation": ("he_normal", "math.sqrt(2.0 / fan)", "math.sqrt(1.0 / fan)", {"test_he_normal"}),
    "week4/05_lr_schedules": ("step_lr", "gamma ** (step // step_size)", "gamma ** (step / step_size)",
                              {"test_step_lr"}),
    "week5_6/01_mlp_autoencoder": ("psnr", "mse = ((x_hat - x) ** 2).flatten(1).mean(1)",
                                   "mse = ((x_hat - x) ** 2).mean()", {"test_psnr"}),
    "week5_6/02_conv_autoencoder": ("conv_transpose_output_size", "dilation * (kernel_size - 1)",
                                    "(kernel_size - 1)", {"test_conv_transpose_output_size"}),
    "week5_6/03_denoising_autoencoder": ("denoising_step", "F.mse_loss(out, clean)", "F.mse_loss(out, noisy)",
                                         {"test_denoising_step"}),
}


def costs(week: str, notebooks=None) -> dict[str, set[str]]:
    """The week's notebooks with a mistake (file names; only those of ``notebooks``, stems, when given) and the
    test cells their mistakes must cost."""
    found = {}
    for key, (_, _, _, tests) in MISTAKES.items():
        w, stem = key.split("/")
        if w == week and (notebooks is None or stem in notebooks):
            found[f"{stem}.ipynb"] = tests
    return found


def with_mistake(source: Path, week: str):
    """The source notebook ``week/source`` with its slip in its answer cell."""
    grade_id, text, slip, _ = MISTAKES[f"{week}/{Path(source).stem}"]
    nb = nbformat.read(source, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    assert cell.source.count(text) == 1, f"{Path(source).name}: {grade_id}'s cell no longer holds {text!r} once"
    cell.source = cell.source.replace(text, slip)
    return nb
