import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
import torch

from helpers import train, viz


def test_show_images_titles_mark_mistakes():
    imgs = torch.rand(3, 1, 8, 8)
    fig = viz.show_images(imgs, labels=[0, 1, 2], preds=[0, 2, 2], classes=["a", "b", "c"], ncols=3)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["a", "c (b)", "c"]
    assert fig.axes[1].title.get_color() == "red"


def test_show_images_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one image"):
        viz.show_images([])
    with pytest.raises(ValueError, match="labels has 2 entries for 3 images"):
        viz.show_images(torch.rand(3, 8, 8), labels=[0, 1])
    with pytest.raises(ValueError, match=r"expected an image of shape"):
        viz.show_images([np.zeros((2, 2, 2, 2))])


def test_unnormalise_and_uint8():
    img = viz._to_hwc(torch.zeros(3, 4, 4), mean=(0.5, 0.5, 0.5), std=(0.2, 0.2, 0.2))
    assert img.shape == (4, 4, 3) and np.allclose(img, 0.5)
    assert viz._to_hwc(np.full((4, 4), 255, dtype=np.uint8)).max() == 1.0


def test_confusion_matrix_counts():
    cm = viz.confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], num_classes=3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    with pytest.raises(ValueError, match="same length"):
        viz.confusion_matrix([0, 1], [0])
    fig = viz.plot_confusion([0, 1, 1, 2], [0, 2, 1, 2], classes=["x", "y", "z"], normalize=True)
    assert "row-normalised" in fig.axes[0].get_title()


def test_plot_history_and_curves():
    hist = train.History(train_loss=[1, 0.5], train_acc=[0.5, 0.8], val_loss=[1.1, 0.7], val_acc=[0.4, 0.7])
    fig = viz.plot_history(hist)
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[1].lines) == 2
    fig = viz.plot_curves({"lr=0.1": [3, 2, 1], "lr=1": [3, 5, 9]}, logy=True)
    assert [l.get_label() for l in fig.axes[0].lines] == ["lr=0.1", "lr=1"]


def test_plot_history_takes_any_named_series():
    hist = train.History(train_loss=[0.3, 0.2], train_psnr=[18.0, 21.0], val_loss=[0.4, 0.3], val_psnr=[17.0, 20.0],
                         seconds=[0.1, 0.1])
    fig = viz.plot_history(hist)
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "psnr"] and len(fig.axes[1].lines) == 2
    gan = train.History(d_loss=[1.3, 1.2], g_loss=[0.7, 0.9], d_real_acc=[0.5, 0.6])
    fig = viz.plot_history(gan)
    assert [line.get_label() for line in fig.axes[0].lines] == ["d", "g"] and fig.axes[1].get_ylabel() == "real acc"
    fig = viz.plot_curves(hist, keys=["val_loss", "val_psnr"], logy=True)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["val_loss", "val_psnr"] and ax.get_xlabel() == "epoch"
    assert list(ax.lines[0].get_xdata()) == [1, 2]
    with pytest.raises(ValueError, match="nothing to plot"):
        viz.plot_history({"seconds": [1.0]})
