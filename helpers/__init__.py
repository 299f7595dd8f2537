"""Deep into CNNs: the one package every course notebook imports.

Modules (one job each):
    config   profile (quick|full), seeding, device pick, the metrics report
    course   the week folders (week1 ... week5_6) and their notebooks, in syllabus order
    metrics  the [metrics] line a notebook reports
    outputs  what of an output is compared with the committed one (exactly, in the reproducible mode)
    runner   headless execution of the notebooks (make run, make refresh)
    book     the executed course as a static website, offline (make book)
    vendor   offline copies of web assets: MathJax (npm), for the book
    data     dataset registry and offline-capable provisioning
    train    the training engine: fit runs a step with callbacks; evaluate, predict,
             fit_adversarial
    loaders  the in-memory TensorLoader, augmentation on the device
    steps    what fit does with one batch (classification, aux heads, reconstruction, GAN)
    callbacks  checkpoint, best weights, early stopping, LR schedules, gradient clipping
    history  History: named per-epoch series
    viz      image grids, curves, confusion matrices, activation maps
    scratch  NumPy layers and losses with forward/backward (week 1)
    models   paper models: LeNet-5, AlexNet, VGG, GoogLeNet, Xception, ResNet
    checks   the functions graded test cells call, one module per week
"""

__version__ = "0.1.0"
