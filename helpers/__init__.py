"""Deep into CNNs: the one package every course notebook imports.

Modules (one job each):
    config   profile (quick|full), seeding, device pick, the metrics report
    course   the week folders (week1 ... week5_6) and their notebooks, in syllabus order
    metrics  tolerances of the reported metrics and their comparison
    data     dataset registry and offline-capable provisioning
    train    fit / evaluate loops with history, in-memory batch iterator
    viz      image grids, curves, confusion matrices, activation maps
    scratch  NumPy layers and losses with forward/backward (week 1)
    models   paper models: LeNet-5, AlexNet, VGG, GoogLeNet, Xception, ResNet
    checks   the functions graded test cells call, one module per week
"""

__version__ = "0.1.0"
