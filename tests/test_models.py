"""Paper models: parameter counts against torchvision / the papers, shapes, training,
input validation, layer names, keyword-only constructor arguments, summary()."""
import inspect
import re

import pytest
import torch
import torch.nn.functional as F
import torchinfo
import torchvision
from torch import nn

from helpers import models
from helpers.models import summary
from helpers.models.resnet import BasicBlock


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def on_meta(build):
    """Build a model on the meta device: shapes only, no memory, no init cost."""
    with torch.device("meta"):
        return build()


# ---------------------------------------------------------------- parameter counts
@pytest.mark.parametrize("name, ours, reference", [
    ("alexnet", models.alexnet, torchvision.models.alexnet),
    ("vgg11", models.vgg11, torchvision.models.vgg11),
    ("vgg11_bn", models.vgg11_bn, torchvision.models.vgg11_bn),
    ("vgg16", models.vgg16, torchvision.models.vgg16),
    ("vgg16_bn", models.vgg16_bn, torchvision.models.vgg16_bn),
    ("googlenet", lambda: models.googlenet(aux_logits=False),
     lambda: torchvision.models.googlenet(aux_logits=False, init_weights=False)),
    ("googlenet+aux", lambda: models.googlenet(aux_logits=True),
     lambda: torchvision.models.googlenet(aux_logits=True, init_weights=False)),
    ("resnet18", models.resnet18, torchvision.models.resnet18),
    ("resnet34", models.resnet34, torchvision.models.resnet34),
    ("resnet50", models.resnet50, torchvision.models.resnet50),
])
def test_parameter_count_matches_torchvision(name, ours, reference):
    assert n_params(on_meta(ours)) == n_params(on_meta(reference)), name


@pytest.mark.parametrize("build, expected", [
    (models.xception, 22_855_952),                          # Chollet 2017, Table 3
    (lambda: models.alexnet(two_gpu=True), 60_965_224),     # the 2012 two-GPU layers
    (lambda: models.resnet_small(20), 269_722),             # He 2015, Table 6: 0.27M
    (lambda: models.resnet_small(110), 1_727_962),          # Table 6: 1.7M
    (lambda: models.lenet5(), 61_706),
])
def test_parameter_count_matches_paper(build, expected):
    assert n_params(on_meta(build)) == expected


def test_num_classes_sets_the_last_layer():
    assert n_params(on_meta(lambda: models.resnet18(num_classes=10))) == 11_689_512 - 990 * 513


# ---------------------------------------------------------------- keyword-only arguments
CONSTRUCTORS = [name for name in models.__all__
                if name not in ("summary", "GoogLeNetOutputs") and callable(getattr(models, name))
                and getattr(models, name).__module__ not in ("helpers.models.gan", "helpers.models.autoencoders")]
# the classifiers above; GAN players and autoencoders: tests/test_gan.py, tests/test_autoencoders.py


@pytest.mark.parametrize("name", CONSTRUCTORS)
def test_num_classes_and_in_channels_are_keyword_only(name):
    params = inspect.signature(getattr(models, name)).parameters
    for arg in ("num_classes", "in_channels"):
        assert arg in params, f"{name} has no {arg}= argument"
        assert params[arg].kind is inspect.Parameter.KEYWORD_ONLY, f"{name}: {arg} can be passed by position"


POSITIONAL_CALLS = {
    "alexnet_small(10)": lambda: models.alexnet_small(10),   # once a 10-channel-input network
    "lenet5(1, 10)": lambda: models.lenet5(1, 10),
    "resnet_small(20, 3, 10)": lambda: models.resnet_small(20, 3, 10),
    "vgg_small('A', 3)": lambda: models.vgg_small("A", 3),
    "googlenet_small(3)": lambda: models.googlenet_small(3),
    "xception_small(3)": lambda: models.xception_small(3),
    "alexnet(10)": lambda: models.alexnet(10),
    "vgg16(10)": lambda: models.vgg16(10),
    "resnet(18, 10)": lambda: models.resnet(18, 10),
    "resnet18(10)": lambda: models.resnet18(10),
    "googlenet(10)": lambda: models.googlenet(10),
    "xception(10)": lambda: models.xception(10),
    "LeNet5(1, 10)": lambda: models.LeNet5(1, 10),
    "VGG('A', False, 10)": lambda: models.VGG("A", False, 10),
    "ResNet(BasicBlock, (1, 1, 1), 10)": lambda: models.ResNet(BasicBlock, (1, 1, 1), 10),
}


@pytest.mark.parametrize("call", POSITIONAL_CALLS.values(), ids=POSITIONAL_CALLS)
def test_positional_sizes_raise_type_error(call):
    with torch.device("meta"), pytest.raises(TypeError, match="positional argument"):
        call()


def test_keywords_reach_the_first_and_last_layer():
    for build in (models.alexnet_small, models.vgg_small, models.googlenet_small,
                  models.xception_small, models.resnet_small, models.lenet5, models.resnet18):
        model = on_meta(lambda: build(in_channels=2, num_classes=7))
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        assert convs[0].in_channels == 2 and model.in_channels == 2, build.__name__
        assert linears[-1].out_features == 7, build.__name__


# ---------------------------------------------------------------- layer names
def test_layer_names_follow_the_papers():
    names = lambda m: dict(m.named_children())
    alex = on_meta(models.alexnet)
    assert {"conv1", "conv5", "fc6", "fc7", "fc8"} <= names(alex).keys()
    vgg = on_meta(models.vgg16)
    assert list(names(vgg.conv3)) == ["conv3_1", "conv3_2", "conv3_3"]
    goog = on_meta(models.googlenet)
    assert {f"inception_{k}" for k in ("3a", "3b", "4a", "4e", "5b")} <= names(goog).keys()
    res = on_meta(models.resnet50)
    assert list(names(res.conv3_x)) == ["conv3_1", "conv3_2", "conv3_3", "conv3_4"]
    xc = on_meta(models.xception)
    assert len(xc.middle_flow) == 8 and {"entry_flow", "exit_flow"} <= names(xc).keys()


def test_resnet_paper_option_moves_the_stride_to_the_first_1x1():
    v15, paper = on_meta(models.resnet50).conv3_x.conv3_1, on_meta(lambda: models.resnet50(paper=True)).conv3_x.conv3_1
    assert v15.conv1[0].stride == (1, 1) and v15.conv2[0].stride == (2, 2)
    assert paper.conv1[0].stride == (2, 2) and paper.conv2[0].stride == (1, 1)


@pytest.mark.parametrize("depth", [20, 32])
def test_resnet_small_plain_twin_has_the_same_layers_and_no_shortcut(depth):
    """He 2015, Section 4.2 / Figure 6: the plain baseline keeps every conv and BN, drops the shortcuts;
    with option A (parameter-free) shortcuts both have the same parameter count and output shape."""
    torch.manual_seed(0)
    res, plain = models.resnet_small(depth, in_channels=1), models.resnet_small(depth, in_channels=1, residual=False)
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(plain) == count(res) and plain.arch == f"plain{depth}"
    shapes = lambda m: [tuple(p.shape) for p in m.parameters()]
    assert shapes(plain) == shapes(res)
    x = torch.randn(2, 1, 16, 16)
    assert plain(x).shape == res(x).shape == (2, 10)
    narrow = models.resnet_small(depth, in_channels=1, widths=(8, 16, 32), residual=False)
    assert narrow(x).shape == (2, 10) and narrow.fc.in_features == 32
    blocks = [m for m in plain.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 3 * (depth - 2) // 6 and all(b.shortcut is None and not b.residual for b in blocks)


def test_plain_block_forward_adds_nothing():
    """The plain block is relu(F(x)): the residual one's output minus its shortcut's, before the last ReLU."""
    from helpers.models.resnet import Bottleneck
    for Block, args, c_in in ((BasicBlock, (8, 8, 1), 8), (BasicBlock, (8, 16, 2), 8), (Bottleneck, (16, 4, 1), 16)):
        torch.manual_seed(0)
        res = Block(*args, option="A" if Block is BasicBlock else "B").eval()
        plain = Block(*args, option="A" if Block is BasicBlock else "B", residual=False).eval()
        plain.load_state_dict(res.state_dict(), strict=False)
        x = torch.randn(2, c_in, 8, 8, dtype=torch.float32)
        body = res.conv3(F.relu(res.conv2(F.relu(res.conv1(x))))) if Block is Bottleneck else res.conv2(F.relu(res.conv1(x)))
        torch.testing.assert_close(plain(x), F.relu(body))
        torch.testing.assert_close(res(x), F.relu(body + res.shortcut(x)))
        assert not torch.allclose(plain(x), res(x))


def test_alexnet_dropout_switch_changes_only_the_dropout_of_fc6_and_fc7():
    """``dropout`` sets fc6's and fc7's nn.Dropout (the paper's 0.5 by default); 0 keeps the same layers and
    weights, and then train mode gives the eval-mode output (no unit dropped, BatchNorm aside)."""
    drops = lambda m: [d.p for d in m.modules() if isinstance(d, nn.Dropout)]
    assert drops(on_meta(models.alexnet)) == [0.5, 0.5]
    assert drops(on_meta(lambda: models.alexnet_small(dropout=0.25))) == [0.25, 0.25]
    torch.manual_seed(0)
    on, off = models.alexnet_small(in_channels=1, batch_norm=False), models.alexnet_small(in_channels=1, batch_norm=False, dropout=0)
    off.load_state_dict(on.state_dict())                     # same parameter names and shapes
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(off.train()(x), off.eval()(x))
        assert not torch.equal(on.train()(x), on.eval()(x))
        assert torch.equal(on.eval()(x), off.eval()(x))


# ---------------------------------------------------------------- forward / backward
SMALL = {
    "lenet5": lambda c: models.lenet5(in_channels=c, num_classes=10, image_size=28 if c == 1 else 32),
    "alexnet_small": lambda c: models.alexnet_small(in_channels=c),
    "vgg_small": lambda c: models.vgg_small("A", in_channels=c),
    "googlenet_small": lambda c: models.googlenet_small(in_channels=c, aux_logits=True),
    "xception_small": lambda c: models.xception_small(in_channels=c),
    "resnet_small": lambda c: models.resnet_small(20, in_channels=c),
}


def logits_of(out):
    return out.logits if isinstance(out, tuple) else out


def total_loss(out, y):
    """Main loss, plus 0.3 x each auxiliary loss as in GoogLeNet Section 5."""
    if isinstance(out, tuple):
        return F.cross_entropy(out.logits, y) + 0.3 * sum(F.cross_entropy(a, y) for a in out[1:])
    return F.cross_entropy(out, y)


@pytest.mark.parametrize("channels, size", [(1, 28), (3, 32)])
@pytest.mark.parametrize("name", SMALL)
def test_small_variant_forward_backward(name, channels, size):
    torch.manual_seed(0)
    model = SMALL[name](channels)
    out = model(torch.randn(4, channels, size, size))
    assert logits_of(out).shape == (4, 10)
    total_loss(out, torch.tensor([0, 1, 2, 3])).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"{name}: no gradient reaches {missing[:3]}"


@pytest.mark.parametrize("name", SMALL)
def test_small_variant_overfits_a_tiny_batch(name):
    torch.manual_seed(0)
    model = SMALL[name](1)
    x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = total_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], f"{name}: loss {losses[0]:.2f} -> {losses[-1]:.2f}"


@pytest.mark.parametrize("build", [
    models.alexnet, models.vgg11_bn, models.googlenet, models.xception, models.resnet18,
    models.resnet50,
])
def test_full_model_runs_at_its_smallest_size(build):
    model = build(num_classes=7).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, model.min_size, model.min_size))
    assert out.shape == (1, 7)


def test_full_size_outputs():
    alex, xc = models.alexnet().eval(), models.xception().eval()
    with torch.no_grad():
        assert alex(torch.randn(1, 3, 224, 224)).shape == (1, 1000)
        assert xc(torch.randn(1, 3, 299, 299)).shape == (1, 1000)


def test_resnet18_backward_at_64px():
    model = models.resnet18()
    model(torch.randn(2, 3, 64, 64)).sum().backward()
    assert model.conv1[0].weight.grad is not None


# ---------------------------------------------------------------- GoogLeNet aux heads
def test_googlenet_aux_classifiers_only_in_train_mode():
    model = models.googlenet()
    out = model(torch.randn(2, 3, 96, 96))
    assert isinstance(out, models.GoogLeNetOutputs)
    assert [t.shape for t in out] == [(2, 1000)] * 3
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 96, 96))
    assert torch.is_tensor(out) and out.shape == (2, 1000)
    no_aux = models.googlenet_small(aux_logits=False)
    assert not hasattr(no_aux, "aux1") and torch.is_tensor(no_aux(torch.randn(2, 3, 32, 32)))


# ---------------------------------------------------------------- input validation
BAD_INPUTS = [
    (lambda: models.alexnet(), "alexnet", "(N, 3, H, W) with H, W >= 63",
     [(2, 1, 224, 224), (2, 3, 62, 224), (3, 224, 224)]),
    (lambda: models.vgg16(), "vgg16", "(N, 3, H, W) with H, W >= 32",
     [(2, 1, 224, 224), (2, 3, 31, 31), (3, 224, 224)]),
    (lambda: models.resnet18(), "resnet18", "(N, 3, H, W) with H, W >= 32",
     [(2, 4, 64, 64), (2, 3, 64, 16), (64, 64)]),
    (lambda: models.googlenet(), "googlenet", "(N, 3, H, W) with H, W >= 32",
     [(2, 1, 96, 96), (2, 3, 16, 16), (1, 1, 3, 96, 96)]),
    (lambda: models.xception(), "xception", "(N, 3, H, W) with H, W >= 32",
     [(2, 1, 299, 299), (2, 3, 31, 299), (3, 299, 299)]),
    (lambda: models.lenet5(), "lenet5", "(N, 1, 28, 28)", [(2, 3, 28, 28), (2, 1, 32, 32), (28, 28)]),
    (lambda: models.vgg_small(in_channels=1), "vgg_small", "(N, 1, H, W) with H, W >= 16",
     [(2, 3, 28, 28), (2, 1, 8, 8), (1, 28, 28)]),
    (lambda: models.resnet_small(), "resnet20", "(N, 3, H, W) with H, W >= 4",
     [(2, 1, 32, 32), (2, 3, 2, 2), (3, 32, 32)]),
]


@pytest.mark.parametrize("build, arch, expected, shapes", BAD_INPUTS,
                         ids=[case[1] for case in BAD_INPUTS])
def test_bad_input_names_the_expected_shape(build, arch, expected, shapes):
    model = on_meta(build)
    for shape in shapes:
        message = f"{arch} expects images of shape {expected}, got {shape}"
        with pytest.raises(ValueError, match=re.escape(message)):
            model(torch.empty(shape, device="meta"))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="28x28 or 32x32"):
        models.lenet5(image_size=30)
    with pytest.raises(ValueError, match=r"6n \+ 2"):
        models.resnet_small(depth=21)
    with pytest.raises(ValueError, match="must be one of"):
        models.resnet(depth=42)


# ---------------------------------------------------------------- summary()
def test_summary_of_lenet5():
    model = models.lenet5()
    model.train()
    table = summary(model, (1, 28, 28))
    assert model.training, "summary() must restore train mode"
    assert list(table.columns) == ["stage", "type", "output_shape", "params", "macs"]
    assert table.stage.tolist() == ["c1", "s2", "c3", "s4", "c5", "flatten", "f6", "output"]
    assert table.params.sum() == n_params(model) == 61_706
    assert table.output_shape.iloc[-1] == (1, 10)
    c1 = table.set_index("stage").loc["c1"]
    assert c1.output_shape == (1, 6, 28, 28)
    assert c1.macs == 28 * 28 * 6 * (5 * 5 * 1)      # each output sums 5x5x1 products
    assert table.set_index("stage").loc["output"].macs == 84 * 10


def test_summary_counts_grouped_and_depthwise_convolutions():
    alex = summary(on_meta(lambda: models.alexnet(two_gpu=True)), (2, 3, 224, 224))
    conv2 = alex.set_index("stage").loc["conv2"]     # 256 maps of 27x27, each sees 48 x 5x5
    assert conv2.output_shape == (2, 256, 27, 27) and conv2.macs == 27 * 27 * 256 * 48 * 25
    xc = summary(on_meta(models.xception), (3, 299, 299), depth=2).set_index("stage")
    assert xc.loc["entry_flow.conv1"].macs == 149 * 149 * 32 * 3 * 9
    assert xc.loc["exit_flow.sepconv2"].output_shape == (1, 2048, 10, 10)
    assert xc.loc["exit_flow.sepconv2"].macs == 10 * 10 * 1536 * (9 + 2048)


def test_summary_of_deeper_levels_and_unused_heads():
    vgg = summary(on_meta(models.vgg16), (3, 224, 224), depth=2).set_index("stage")
    assert vgg.loc["conv1.conv1_1"].macs == 224 * 224 * 64 * 3 * 9
    assert vgg.params.sum() == 138_357_544
    assert vgg.output_shape.iloc[-1] == (1, 1000)
    goog = summary(on_meta(models.googlenet), (3, 224, 224))
    assert goog.params.sum() == 13_004_888
    assert goog.stage.tolist()[-2:] == ["aux1", "aux2"]          # skipped in eval mode
    assert goog.output_shape.iloc[-1] is None
    assert goog.set_index("stage").loc["inception_5b"].output_shape == (1, 1024, 7, 7)


def torchinfo_totals(model, input_size):
    """torchinfo's own totals for the same pass: (parameters, mult-adds per image)."""
    stats = torchinfo.summary(model, input_size=input_size, device=next(model.parameters()).device,
                              mode="eval", verbose=0)
    return stats.total_params, stats.total_mult_adds // input_size[0]


def bias_and_batchnorm_adds(model, table_input):
    """What torchinfo counts on top of the papers' MACs (summary's docstring): one add per
    bias value and output position, and BatchNorm's scale and shift once per image."""
    sizes = {}                                   # layer -> output positions per channel

    def record(module, inputs, output):
        sizes.setdefault(module, output.shape[2:].numel())

    hooks = [m.register_forward_hook(record)
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.BatchNorm2d))]
    with torch.no_grad():
        model.eval()(torch.zeros(table_input, device=next(model.parameters()).device))
    for h in hooks:
        h.remove()
    ran = list(sizes)                            # GoogLeNet's aux heads do not run in eval mode
    bias = sum(m.bias.numel() * sizes[m] for m in ran
               if not isinstance(m, nn.BatchNorm2d) and m.bias is not None)
    batchnorm = sum(2 * m.num_features for m in ran if isinstance(m, nn.BatchNorm2d))
    return bias + batchnorm


@pytest.mark.parametrize("build, size", [
    (models.lenet5, (1, 1, 28, 28)),
    (lambda: models.alexnet(two_gpu=True), (2, 3, 224, 224)),
    (models.googlenet, (1, 3, 224, 224)),
    (models.xception, (1, 3, 299, 299)),
    (models.resnet50, (2, 3, 224, 224)),
    (models.vgg16_bn, (1, 3, 224, 224)),
])
def test_summary_totals_agree_with_torchinfo(build, size):
    model = on_meta(build)
    table = summary(model, size, depth=2)
    params, mult_adds = torchinfo_totals(model, size)
    assert table.params.sum() == params == n_params(model)
    assert table.macs.sum() + bias_and_batchnorm_adds(model, size) == mult_adds


def test_summary_lenet5_macs_by_hand_against_torchinfo():
    table = summary(models.lenet5(), (1, 28, 28))
    assert table.macs.sum() == (28 * 28 * 6 * 25 + 10 * 10 * 16 * 6 * 25 + 120 * 16 * 25
                                + 84 * 120 + 10 * 84)
    _, mult_adds = torchinfo_totals(models.lenet5(), (1, 1, 28, 28))
    assert mult_adds == table.macs.sum() + 6 * 28 * 28 + 16 * 10 * 10 + 120 + 84 + 10   # biases


def test_summary_leaves_the_random_state_and_reports_bad_input():
    model = models.lenet5()
    state = torch.random.get_rng_state()
    summary(model, (1, 28, 28))
    assert torch.equal(torch.random.get_rng_state(), state)
    with pytest.raises(ValueError, match=re.escape("lenet5 expects images of shape (N, 1, 28, 28), got (1, 3, 28, 28)")):
        summary(model, (3, 28, 28))


# ---------------------------------------------------------------- the blocks name the shape they expect
from helpers.models.googlenet import Inception, InceptionAux  # noqa: E402
from helpers.models.resnet import BasicBlock, Bottleneck  # noqa: E402
from helpers.models.xception import SeparableConv2d, XceptionBlock  # noqa: E402

BLOCKS = {
    "BasicBlock": lambda: BasicBlock(16, 32, 2),
    "Bottleneck": lambda: Bottleneck(16, 8, 1),
    "Inception": lambda: Inception(16, 8, 4, 8, 2, 4, 4),
    "InceptionAux": lambda: InceptionAux(16, 10),
    "SeparableConv2d": lambda: SeparableConv2d(16, 24),
    "XceptionBlock": lambda: XceptionBlock(16, [24, 24], downsample=True),
}


@pytest.mark.parametrize("name", BLOCKS)
def test_blocks_take_their_channels_and_name_the_expected_shape(name):
    block = BLOCKS[name]().eval()
    with torch.no_grad():
        assert block(torch.zeros(2, 16, 9, 7)).shape[0] == 2      # odd, non-square maps are fine
        for bad in (torch.zeros(2, 15, 9, 7), torch.zeros(16, 9, 7)):
            with pytest.raises(ValueError, match=rf"{name} expects feature maps of shape \(N, 16, H, W\), got "
                                                 rf"\({', '.join(map(str, bad.shape))}\)"):
                block(bad)


def test_lenet5_slices_into_a_plain_sequential_of_its_own_layers():
    net = models.lenet5()
    features = net[:-1]                                   # a learner's natural "all but the last layer"
    assert type(features) is torch.nn.Sequential and features.f6 is net.f6
    assert features(torch.zeros(2, 1, 28, 28)).shape == (2, 84) and net[-1] is net.output
