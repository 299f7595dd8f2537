"""Weeks 5-6's GAN checks, three ways each through the shared harness (tests/checks_harness.py): the
notebooks' own solution cells pass (public and hidden cases), the released stubs fail as "not
answered", typical wrong answers fail with their hint (those only the hidden cases catch pass the
public ones), and other right answers pass.
"""
import numpy as np
import torch
import torch.nn.functional as F

from checks_harness import Right, Week, Wrong, make_tests
from helpers.checks import gans

CHECKS = {
    "check_discriminator_loss": ("04", ["discriminator_loss"]),
    "check_generator_loss": ("04", ["generator_loss"]),
    "check_gan_train_step": ("04", ["gan_train_step"]),
    "check_transposed_output_size": ("05", ["transposed_output_size"]),
    "check_dcgan_generator": ("05", ["dcgan_generator"]),
    "check_penultimate_features": ("06", ["penultimate_features"]),
    "check_class_diversity": ("06", ["class_diversity"]),
}
WEEK = Week("week5_6", gans, CHECKS, base={"np": np, "torch": torch, "F": F, "nn": torch.nn})
bce = F.binary_cross_entropy_with_logits


# ---------------------------------------------------------------- 04 the discriminator's loss

def _d(real_target=lambda s: 1 - s, fake_target=lambda s: 0.0, combine=lambda a, b: a + b, reduction="mean"):
    def discriminator_loss(real_logits, fake_logits, smooth=0.0):
        a = bce(real_logits, torch.full_like(real_logits, real_target(smooth)), reduction=reduction)
        b = bce(fake_logits, torch.full_like(fake_logits, fake_target(smooth)), reduction=reduction)
        return combine(a, b)
    return discriminator_loss


def d_naive(real_logits, fake_logits, smooth=0.0):
    t = 1 - smooth
    real, fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    return -(t * torch.log(real) + (1 - t) * torch.log(1 - real)).mean() - torch.log(1 - fake).mean()


def d_probabilities(real_logits, fake_logits, smooth=0.0):
    return (F.binary_cross_entropy(real_logits, torch.full_like(real_logits, 1 - smooth))
            + F.binary_cross_entropy(fake_logits, torch.zeros_like(fake_logits)))


def d_item(real_logits, fake_logits, smooth=0.0):
    return _d()(real_logits, fake_logits, smooth).item()


def d_detached(real_logits, fake_logits, smooth=0.0):
    return _d()(real_logits.detach(), fake_logits.detach(), smooth)


def d_logsigmoid(real_logits, fake_logits, smooth=0.0):
    t = 1 - smooth
    return (-(t * F.logsigmoid(real_logits) + (1 - t) * F.logsigmoid(-real_logits)).mean()
            - F.logsigmoid(-fake_logits).mean())


# ---------------------------------------------------------------- 04 the generator's loss

def g_saturating(fake_logits):
    return torch.log1p(-torch.sigmoid(fake_logits)).mean()


def g_target0(fake_logits):
    return bce(fake_logits, torch.zeros_like(fake_logits))


def g_sum(fake_logits):
    return bce(fake_logits, torch.ones_like(fake_logits), reduction="sum")


def g_wgan(fake_logits):
    return -fake_logits.mean()


def g_naive(fake_logits):
    return -torch.log(torch.sigmoid(fake_logits)).mean()


def g_smoothed(fake_logits):
    return bce(fake_logits, torch.full_like(fake_logits, 0.9))


def g_softplus(fake_logits):
    return F.softplus(-fake_logits).mean()


# ---------------------------------------------------------------- 04 one training step

D_LOSS = _d()


def G_LOSS(l):
    return bce(l, torch.ones_like(l))


def _step(*, detach=True, zero="each", g_detach=False, d_in_g=False, g_first=False, use_smooth=True,
          regenerate=False, own_noise=False):
    def gan_train_step(generator, discriminator, real, z, g_optimizer, d_optimizer, smooth=0.0):
        if own_noise:
            z = torch.randn_like(z)
        if zero == "top":
            d_optimizer.zero_grad()
            g_optimizer.zero_grad()

        def d_phase():
            fake = generator(z)
            loss = D_LOSS(discriminator(real), discriminator(fake.detach() if detach else fake),
                          smooth if use_smooth else 0.0)
            if zero == "each":
                d_optimizer.zero_grad()
            loss.backward()
            d_optimizer.step()
            return loss, fake

        def g_phase(fake):
            if regenerate or fake is None:
                fake = generator(z)
            loss = G_LOSS(discriminator(fake.detach() if g_detach else fake))
            if zero == "each":
                g_optimizer.zero_grad()
            loss.backward()
            g_optimizer.step()
            if d_in_g:
                d_optimizer.step()
            return loss

        if g_first:
            g = g_phase(None)
            d, _ = d_phase()
        else:
            d, fake = d_phase()
            g = g_phase(fake)
        return d.item(), g.item()
    return gan_train_step


def step_helpers(generator, discriminator, real, z, g_optimizer, d_optimizer, smooth=0.0):
    from helpers.steps import gan_discriminator_step, gan_generator_step
    d_optimizer.zero_grad()
    d = gan_discriminator_step(generator, discriminator, real, latent_dim=z.shape[1])["loss"]
    d.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g = gan_generator_step(generator, discriminator, real, latent_dim=z.shape[1])["loss"]
    g.backward()
    g_optimizer.step()
    return d.item(), g.item()


WRONG = [
    Wrong("check_discriminator_loss", _d(real_target=lambda s: 0.0, fake_target=lambda s: 1.0), "labels are swapped"),
    Wrong("check_discriminator_loss", _d(combine=lambda a, b: (a + b) / 2), "ADD the two terms"),
    Wrong("check_discriminator_loss", _d(reduction="sum"), "average over the batch"),
    Wrong("check_discriminator_loss", _d(real_target=lambda s: s if s else 1.0), "target 1 - smooth .*not smooth"),
    Wrong("check_discriminator_loss", _d(real_target=lambda s: 1.0), "smoothing is ignored"),
    Wrong("check_discriminator_loss", _d(fake_target=lambda s: s), "ONE-sided"),
    Wrong("check_discriminator_loss", _d(combine=lambda a, b: -(a + b)), "MINIMISE"),
    Wrong("check_discriminator_loss", d_naive, "binary_cross_entropy_with_logits", public_passes=True),
    Wrong("check_discriminator_loss", d_probabilities, "these are LOGITS"),
    Wrong("check_discriminator_loss", d_item, "should return a torch tensor"),
    Wrong("check_discriminator_loss", d_detached, "stay connected to the logits"),
    Wrong("check_generator_loss", g_saturating, "SATURATING"),
    Wrong("check_generator_loss", g_target0, "target is the discriminator's"),
    Wrong("check_generator_loss", g_sum, "average over the batch"),
    Wrong("check_generator_loss", g_wgan, "WGAN"),
    Wrong("check_generator_loss", g_naive, "binary_cross_entropy_with_logits", public_passes=True),
    Wrong("check_generator_loss", g_smoothed, "label smoothing belongs"),
    Wrong("check_gan_train_step", _step(zero="none"), "zero the gradients"),
    Wrong("check_gan_train_step", _step(detach=False), r"detach the fakes in the discriminator's step"),
    Wrong("check_gan_train_step", _step(zero="top", detach=False, regenerate=True), "not detached in the discriminator's step"),
    Wrong("check_gan_train_step", _step(g_detach=True), "step must not detach the fakes"),
    Wrong("check_gan_train_step", _step(d_in_g=True), "only g_optimizer steps"),
    Wrong("check_gan_train_step", _step(g_first=True), "discriminator's update comes first"),
    Wrong("check_gan_train_step", _step(use_smooth=False), "pass smooth on"),
    Wrong("check_gan_train_step", _step(own_noise=True), "one step trains D, then G"),
    Wrong("check_gan_train_step", step_helpers, "uses helpers.steps: the exercise is to write it"),
]

RIGHT = [
    Right("check_discriminator_loss", d_logsigmoid, "log sigmoid written with F.logsigmoid"),
    Right("check_generator_loss", g_softplus, "softplus(-l) = -log sigmoid(l)"),
    Right("check_gan_train_step", _step(zero="top"), "zeroing both once at the start is enough when the fakes are detached"),
    Right("check_gan_train_step", _step(regenerate=True), "G(z) computed again for the generator's phase"),
]



# ---------------------------------------------------------------- 05 transposed convolutions, the generator

def t_conv_formula(h, kernel, stride, padding):
    return (h + 2 * padding - kernel) // stride + 1


def t_no_padding(h, kernel, stride, padding):
    return (h - 1) * stride + kernel


def t_one_padding(h, kernel, stride, padding):
    return (h - 1) * stride - padding + kernel


def t_times_stride(h, kernel, stride, padding):
    return h * stride


def t_float(h, kernel, stride, padding):
    return float((h - 1) * stride - 2 * padding + kernel)


def _gen(output="tanh", bn_out=False, last_kernel=4, upsample=False, unflatten=True, bn=True, act=torch.nn.ReLU,
         relu_then_bn=False, dropout=False):
    def dcgan_generator(latent_dim, width):
        nn = torch.nn

        def block(c_in, c_out, *args):
            norm = [nn.BatchNorm2d(c_out)] if bn else []
            up = ([nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, padding=1)] if upsample and args
                  else [nn.ConvTranspose2d(c_in, c_out, *args, bias=False)])
            return up + ([act()] + norm if relu_then_bn else norm + [act()]) + ([nn.Dropout(0.3)] if dropout else [])
        layers = [nn.Unflatten(1, (latent_dim, 1, 1))] if unflatten else []
        layers += block(latent_dim, 2 * width, 7) + block(2 * width, width, 4, 2, 1)
        layers += [nn.ConvTranspose2d(width, 1, last_kernel, 2, 1)] + ([nn.BatchNorm2d(1)] if bn_out else [])
        layers += {"tanh": [nn.Tanh()], "sigmoid": [nn.Sigmoid()], "none": []}[output]
        return nn.Sequential(*layers)
    return dcgan_generator


def gen_bn_before_tanh(latent_dim, width):
    return _gen(bn_out=True)(latent_dim, width)


def gen_shipped(latent_dim, width):
    from helpers import models
    return models.DCGANGenerator(latent_dim, width)


def gen_module(latent_dim, width):
    """Another right answer: a module of its own, the code reshaped with view."""
    nn = torch.nn

    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.b1 = nn.ConvTranspose2d(latent_dim, 2 * width, 7, bias=False), nn.BatchNorm2d(2 * width)
            self.c2, self.b2 = nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width)
            self.c3 = nn.ConvTranspose2d(width, 1, 4, 2, 1)

        def forward(self, z):
            h = F.relu(self.b1(self.c1(z.view(len(z), -1, 1, 1))))
            return torch.tanh(self.c3(F.relu(self.b2(self.c2(h)))))
    return G()


# ---------------------------------------------------------------- 06 features, diversity

def feat_logits(classifier):
    return classifier


def feat_c5(classifier):
    return torch.nn.Sequential(*list(classifier.children())[:-2])


def feat_no_relu(classifier):
    return torch.nn.Sequential(*list(classifier.children())[:-2], classifier.f6[0])


def feat_in_place(classifier):
    classifier.output = torch.nn.Identity()
    return classifier


def feat_fresh(classifier):
    import helpers.models as m
    return torch.nn.Sequential(*list(m.lenet5().children())[:-1])


def feat_copies(classifier):
    import copy
    return torch.nn.Sequential(*[copy.deepcopy(m) for m in list(classifier.children())[:-1]])


def feat_slice(classifier):
    return classifier[:-1]


def feat_tensor(classifier):
    return classifier.f6


def feat_forward(classifier):
    """Another right answer: a module that runs the named layers."""
    class F6(torch.nn.Module):
        def __init__(self, c):
            super().__init__()
            self.c = c

        def forward(self, x):
            c = self.c
            return c.f6(c.flatten(c.c5(c.s4(c.c3(c.s2(c.c1(x)))))))
    return F6(classifier)


def _div(minlength=True, log=np.log2, normalise=True, never_kind="list", sign=-1):
    def class_diversity(predicted, num_classes=10):
        counts = np.bincount(predicted, minlength=num_classes if minlength else 0)
        p = counts / counts.sum() if normalise else counts.astype(float)
        nz = p[p > 0]
        entropy = float(sign * (nz * log(nz)).sum())
        never = [c for c in range(num_classes) if c >= len(counts) or counts[c] == 0]
        return counts, entropy, (len(never) if never_kind == "count" else never)
    return class_diversity


def div_nan(predicted, num_classes=10):
    counts = np.bincount(predicted, minlength=num_classes)
    p = counts / counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return counts, float(-(p * np.log2(p)).sum()), [c for c in range(num_classes) if counts[c] == 0]


def div_fractions(predicted, num_classes=10):
    counts, h, never = _div()(predicted, num_classes)
    return counts / counts.sum(), h, never


def div_scipy(predicted, num_classes=10):
    from scipy.stats import entropy
    counts = np.bincount(predicted, minlength=num_classes)
    return counts, float(entropy(counts, base=2)), np.flatnonzero(counts == 0).tolist()


WRONG += [
    Wrong("check_transposed_output_size", t_conv_formula, "ordinary \\(strided\\) convolution"),
    Wrong("check_transposed_output_size", t_no_padding, "subtract 2 \\* padding"),
    Wrong("check_transposed_output_size", t_one_padding, "not padding"),
    Wrong("check_transposed_output_size", t_times_stride, "H \\* stride is only right"),
    Wrong("check_transposed_output_size", t_float, "should be an int"),
    Wrong("check_dcgan_generator", _gen(output="sigmoid"), "a sigmoid gives \\[0, 1\\]"),
    Wrong("check_dcgan_generator", _gen(output="none"), "last layer must be nn.Tanh"),
    Wrong("check_dcgan_generator", gen_bn_before_tanh, "no BatchNorm on the output layer"),
    Wrong("check_dcgan_generator", _gen(last_kernel=6), "parameters, expected"),
    Wrong("check_dcgan_generator", _gen(upsample=True), "no pooling or nn.Upsample"),
    Wrong("check_dcgan_generator", _gen(unflatten=False), "nn.Unflatten"),
    Wrong("check_dcgan_generator", _gen(bn=False), "BatchNorm2d after every hidden"),
    Wrong("check_dcgan_generator", _gen(relu_then_bn=True), "before the ReLU"),
    Wrong("check_dcgan_generator", _gen(act=lambda: torch.nn.LeakyReLU(0.2)), "LeakyReLU is the discriminator's"),
    Wrong("check_dcgan_generator", _gen(dropout=True), "not in train mode"),
    Wrong("check_dcgan_generator", gen_shipped, "built on helpers.models.gan.DCGANGenerator"),
    Wrong("check_penultimate_features", feat_logits, "10 LOGITS"),
    Wrong("check_penultimate_features", feat_c5, "C5's 120 activations"),
    Wrong("check_penultimate_features", feat_no_relu, "include F6's ReLU"),
    Wrong("check_penultimate_features", feat_in_place, "don't change the classifier"),
    Wrong("check_penultimate_features", feat_fresh, "a fresh lenet5\\(\\) has other"),
    Wrong("check_penultimate_features", feat_copies, "no copy.deepcopy"),
    Wrong("check_penultimate_features", feat_tensor, "penultimate layer"),
    Wrong("check_class_diversity", _div(minlength=False), "minlength", public_passes=True),
    Wrong("check_class_diversity", _div(log=np.log), "nats"),
    Wrong("check_class_diversity", _div(normalise=False), "not of the counts"),
    Wrong("check_class_diversity", _div(sign=1), "sign is missing"),
    Wrong("check_class_diversity", _div(never_kind="count"), "how MANY"),
    Wrong("check_class_diversity", div_nan, "0 log 0 = 0"),
    Wrong("check_class_diversity", div_fractions, "not fractions"),
]
RIGHT += [
    Right("check_penultimate_features", feat_forward, "a module calling the named layers"),
    Right("check_penultimate_features", feat_slice, "slicing the LeNet5 (an nn.Sequential subclass)"),
    Right("check_dcgan_generator", gen_module, "a module of its own, z.view in forward"),
    Right("check_class_diversity", div_scipy, "scipy.stats.entropy(counts, base=2) normalises itself"),
]

globals().update(make_tests(WEEK, WRONG, RIGHT))


def test_the_course_generator_computes_what_the_check_asks():
    """The record's reference is written in helpers/checks/gans.py; helpers.models.DCGANGenerator (what notebook 05
    trains) passes the same cases, hidden ones included, with the rule against helpers.models lifted."""
    import dataclasses

    from helpers.checks import gans
    from helpers.checks.records import checks_of
    from helpers.models import DCGANGenerator

    ex = next(ex for ex in gans.EXERCISES if ex.name == "dcgan_generator")
    checks_of([dataclasses.replace(ex, forbidden={})])["check_dcgan_generator"](DCGANGenerator, hidden=True)
