"""helpers.models.autoencoders: shapes, parameter counts, the input checks, the checkerboard of a
stride-2 transposed convolution, and one training step through the engine."""
import pytest
import torch
from torch import nn

from helpers.models import ConvAutoencoder, DenoisingAutoencoder, MLPAutoencoder, check_unit_images
from helpers.train import TensorLoader, evaluate, fit, reconstruction_step

MODELS = [lambda: MLPAutoencoder(8), lambda: ConvAutoencoder(8), lambda: ConvAutoencoder(8, up="resize"),
          lambda: DenoisingAutoencoder(8)]


@pytest.mark.parametrize("make", MODELS, ids=["mlp", "conv-transpose", "conv-resize", "denoising"])
def test_reconstructions_have_the_input_shape_and_range(make):
    torch.manual_seed(0)
    out = make()(torch.rand(3, 1, 28, 28))
    assert out.shape == (3, 1, 28, 28)
    assert out.min() >= 0 and out.max() <= 1


def test_codes_have_k_numbers():
    x = torch.rand(4, 1, 28, 28)
    assert MLPAutoencoder(5).encode(x).shape == (4, 5)
    assert ConvAutoencoder(7).encode(x).shape == (4, 7)
    assert MLPAutoencoder(5).decode(torch.zeros(2, 5)).shape == (2, 1, 28, 28)


def test_mlp_parameter_count_matches_the_docstring():
    k, h = 32, 64
    assert sum(p.numel() for p in MLPAutoencoder(k, h).parameters()) == 2 * 784 * h + 2 * h * k + 2 * h + k + 784


def test_the_two_upsampling_decoders_have_equal_parameter_counts():
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(ConvAutoencoder(16, up="transpose")) == count(ConvAutoencoder(16, up="resize"))


@pytest.mark.parametrize("bad, message", [
    (torch.rand(28, 28), r"expects images of shape \(N, 1, 28, 28\), got \(28, 28\)"),
    (torch.rand(2, 3, 28, 28), r"\(N, 1, 28, 28\), got \(2, 3, 28, 28\)"),
    (torch.rand(2, 1, 32, 32), r"got \(2, 1, 32, 32\)"),
    (torch.randint(0, 255, (2, 1, 28, 28), dtype=torch.uint8), "float images in \\[0, 1\\].*divide uint8"),
    (torch.rand(2, 1, 28, 28) * 2 - 1, r"pixel values in \[0, 1\], got -"),
    (torch.full((1, 1, 28, 28), 255.0), r"got 255 \.\. 255"),
])
@pytest.mark.parametrize("make", MODELS, ids=["mlp", "conv-transpose", "conv-resize", "denoising"])
def test_bad_input_says_what_was_expected(make, bad, message):
    with pytest.raises(ValueError, match=message):
        make()(bad)


def test_check_unit_images_rejects_non_tensors():
    with pytest.raises(ValueError, match="expects a tensor"):
        check_unit_images([[0.0]])


@pytest.mark.parametrize("kwargs", [{"k": 0}, {"k": 4, "up": "bilinear"}])
def test_bad_construction_arguments(kwargs):
    with pytest.raises(ValueError, match="k and channels|up must be"):
        ConvAutoencoder(**kwargs)
    with pytest.raises(ValueError, match="k and hidden"):
        MLPAutoencoder(0)
    with pytest.raises(ValueError, match="width"):
        DenoisingAutoencoder(0)


def test_stride_two_transposed_convolution_leaves_a_checkerboard_and_resize_does_not():
    layer = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1, bias=False)
    resize = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(1, 1, 3, padding=1, bias=False))
    with torch.no_grad():
        layer.weight.fill_(1.0)
        resize[1].weight.fill_(1.0)
        t, r = layer(torch.ones(1, 1, 7, 7))[0, 0], resize(torch.ones(1, 1, 7, 7))[0, 0]
    assert torch.equal(t[:2, :2], torch.tensor([[1.0, 2.0], [2.0, 4.0]]))
    assert torch.equal(t[2:4, 2:4], t[:2, :2])              # the pattern repeats with period 2
    assert torch.all(r[1:-1, 1:-1] == 9.0)                   # flat inside: every pixel gets 9 contributions


def test_training_through_the_engine_lowers_the_loss():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 28, 28) * (torch.rand(64, 1, 1, 1) > 0.5)
    loader = TensorLoader(x, torch.zeros(64), batch_size=16, shuffle=True, seed=0)
    model = ConvAutoencoder(4, channels=4)
    before = evaluate(model, loader, step=reconstruction_step)["loss"]
    fit(model, loader, epochs=3, step=reconstruction_step, verbose=False,
        optimizer=torch.optim.Adam(model.parameters(), lr=3e-3))
    after = evaluate(model, loader, step=reconstruction_step)
    assert after["loss"] < before
    assert "psnr" in after
