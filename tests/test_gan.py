"""The GAN players (helpers.models.gan) and the GAN training helpers (helpers.gans)."""
import pytest
import torch
from torch import nn

from helpers import gans, models
from helpers.loaders import TensorLoader
from helpers.models.gan import check_gan_images, dcgan_init, fixed_latent

PLAYERS = [(models.MLPGenerator, models.MLPDiscriminator), (models.DCGANGenerator, models.DCGANDiscriminator)]


@pytest.mark.parametrize("make_g, make_d", PLAYERS, ids=["mlp", "dcgan"])
def test_shapes_and_range(make_g, make_d):
    torch.manual_seed(0)
    G, D = make_g(16), make_d()
    x = G(torch.randn(5, 16) * 10)                      # large codes: tanh still bounds the pixels
    assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (5,)
    assert G.latent_dim == 16


@pytest.mark.parametrize("make_d", [models.MLPDiscriminator, models.DCGANDiscriminator], ids=["mlp", "dcgan"])
def test_discriminators_reject_wrong_images(make_d):
    D = make_d()
    with pytest.raises(ValueError, match=r"scaled to \[-1, 1\].*x \* 2 - 1"):
        D(torch.rand(2, 1, 28, 28) * 255)
    with pytest.raises(ValueError, match=r"shape \(N, 1, 28, 28\), got \(2, 28, 28\)"):
        D(torch.zeros(2, 28, 28))
    with pytest.raises(ValueError, match="float tensor"):
        D(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))


@pytest.mark.parametrize("make_g", [models.MLPGenerator, models.DCGANGenerator], ids=["mlp", "dcgan"])
def test_generators_reject_wrong_codes(make_g):
    G = make_g(8)
    with pytest.raises(ValueError, match=r"latent codes of shape \(N, 8\), got \(3, 5\)"):
        G(torch.randn(3, 5))
    assert G(torch.randn(3, 8, 1, 1)).shape == (3, 1, 28, 28)   # DCGAN-style (N, latent, 1, 1) codes work too


def test_check_gan_images_accepts_the_edges_and_rejects_just_outside():
    check_gan_images(torch.tensor([-1.0, 1.0]).repeat(1, 1, 28, 14), "t")
    with pytest.raises(ValueError, match=r"got values in \[-1\.01, 1\]"):
        check_gan_images(torch.tensor([-1.01, 1.0]).repeat(1, 1, 28, 14), "t")


def test_range_conversions():
    x = torch.tensor([0.0, 0.5, 1.0])
    assert torch.equal(gans.to_gan_range(x), torch.tensor([-1.0, 0.0, 1.0]))
    assert torch.equal(gans.from_gan_range(gans.to_gan_range(x)), x)
    with pytest.raises(ValueError, match=r"pixels in \[0, 1\], got values in \[0, 255\]"):
        gans.to_gan_range(torch.tensor([0.0, 255.0]))


def test_dcgan_init_follows_the_paper():
    torch.manual_seed(0)
    conv = dcgan_init(nn.Sequential(nn.Conv2d(8, 64, 3), nn.BatchNorm2d(64)))
    assert abs(conv[0].weight.std().item() - 0.02) < 0.002 and conv[0].bias.abs().max() == 0
    assert abs(conv[1].weight.mean().item() - 1) < 0.01 and conv[1].bias.abs().max() == 0


def test_fixed_latent_is_reproducible():
    assert torch.equal(fixed_latent(4, 3, seed=1), fixed_latent(4, 3, seed=1))
    assert not torch.equal(fixed_latent(4, 3, seed=1), fixed_latent(4, 3, seed=2))


def test_generate_keeps_the_mode_and_uses_running_statistics():
    torch.manual_seed(0)
    G = models.DCGANGenerator(4, 8)
    z = torch.randn(3, 4)
    a = gans.generate(G, z)
    assert G.training and a.shape == (3, 1, 28, 28)
    assert torch.allclose(a[:1], gans.generate(G, z[:1]))   # eval mode: one image does not depend on the others


@pytest.mark.parametrize("make_g, make_d", PLAYERS, ids=["mlp", "dcgan"])
def test_train_gan_snapshots_every_epoch_and_moves_g(make_g, make_d):
    torch.manual_seed(0)
    x = torch.rand(64, 1, 28, 28) * 2 - 1
    loader = TensorLoader(x, torch.zeros(64, dtype=torch.long), batch_size=32)
    G, D = make_g(8), make_d(8) if make_d is models.DCGANDiscriminator else make_d(16)
    z = fixed_latent(4, 8)
    before = gans.generate(G, z)
    history, snaps = gans.train_gan(G, D, loader, epochs=2, z_fixed=z, verbose=False)
    assert len(snaps) == 2 and snaps[0].shape == (4, 1, 28, 28)
    assert not torch.allclose(before, snaps[-1])
    assert len(history["d_loss"]) == 2 and all(torch.isfinite(torch.tensor(history["g_loss"])))


def test_make_players():
    G, D = gans.make_players("dcgan", 8, 4)
    assert isinstance(G, models.DCGANGenerator) and G.latent_dim == 8
    assert isinstance(gans.make_players("mlp", 8, 4)[1], models.MLPDiscriminator)
    with pytest.raises(ValueError, match="'mlp' or 'dcgan', got 'cnn'"):
        gans.make_players("cnn")


def test_train_gan_moves_the_players_to_the_device_asked_for():
    torch.manual_seed(0)
    loader = TensorLoader(torch.rand(32, 1, 28, 28) * 2 - 1, torch.zeros(32, dtype=torch.long), batch_size=32)
    G, D = gans.make_players("mlp", 4, 8)
    history, snaps = gans.train_gan(G, D, loader, epochs=1, verbose=False, device="cpu")
    assert snaps[0].device.type == "cpu" and next(D.parameters()).device.type == "cpu"


@pytest.mark.parametrize("name", ["MLPGenerator", "MLPDiscriminator", "DCGANGenerator", "DCGANDiscriminator"])
def test_image_channels_are_keyword_only(name):
    """Not classifiers (no num_classes): the image's channels are keyword-only, next to the sizes."""
    import inspect

    params = inspect.signature(getattr(models, name)).parameters
    assert params["channels"].kind is inspect.Parameter.KEYWORD_ONLY
