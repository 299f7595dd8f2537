"""``History``: what a training run records, as named series with one value per epoch.

>>> history["val_loss"]            # a list, one float per epoch (also history.val_loss)
>>> history.best("val_loss")       # (epoch, value): min for names ending in "loss", max otherwise
>>> history.frame()                # a pandas DataFrame indexed by epoch
>>> history.steps["lr"]            # per-batch series (one value per optimizer step)

Names are ``<part>_<metric>``: ``train_loss``, ``val_acc``, ``train_psnr``, ``d_loss``
(adversarial runs), plus ``seconds`` per epoch.
"""
from __future__ import annotations

# Series that existed before the engine recorded arbitrary names: reading one that was never
# recorded (``history.val_acc`` of a run without validation) gives [] as it always did.
_CLASSIC = ("train_loss", "train_acc", "val_loss", "val_acc", "seconds")


class History:
    """Named per-epoch series (``history["val_loss"]``, ``history.val_loss``) and per-step
    series in ``history.steps``. ``History(train_loss=[...], ...)`` builds one from lists."""

    def __init__(self, **series):
        self._series: dict[str, list[float]] = {name: list(values) for name, values in series.items()}
        self.steps: dict[str, list[float]] = {}

    # recording -------------------------------------------------------------------------
    def log(self, name: str, value) -> None:
        """Append one epoch's ``value`` to the series ``name``."""
        self._series.setdefault(name, []).append(float(value))

    def log_all(self, part: str, metrics: dict) -> None:
        """Append ``{metric: value}`` as ``<part>_<metric>`` series (``"train", {"loss": 0.3}``)."""
        for name, value in metrics.items():
            self.log(f"{part}_{name}", value)

    def log_step(self, name: str, value) -> None:
        """Append one optimizer step's ``value`` to the per-step series ``history.steps[name]``."""
        self.steps.setdefault(name, []).append(float(value))

    # reading ---------------------------------------------------------------------------
    def __getitem__(self, name: str) -> list[float]:
        if name in self._series:
            return self._series[name]
        if name in _CLASSIC:
            return []
        raise KeyError(f"history has no series {name!r}; it has {list(self._series)}")

    def __getattr__(self, name: str) -> list[float]:
        if name.startswith("_"):  # copy/pickle probe dunders: do not invent series for them
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as err:
            raise AttributeError(err.args[0]) from None

    def __contains__(self, name: str) -> bool:
        return name in self._series

    def keys(self) -> list[str]:
        return list(self._series)

    def get(self, name: str, default=None):
        return self._series.get(name, default)

    def series(self) -> dict[str, list[float]]:
        """All per-epoch series, ``{name: [value per epoch]}`` (the lists themselves, not copies)."""
        return dict(self._series)

    def __len__(self) -> int:
        """Number of epochs recorded."""
        return max((len(v) for v in self._series.values()), default=0)

    def __repr__(self) -> str:
        return f"History({len(self)} epochs: {', '.join(self._series)})"

    def best(self, metric: str = "val_acc", mode: str | None = None) -> tuple[int, float]:
        """(epoch, value) of the best ``metric``: the first epoch reaching the min (``mode="min"``,
        the default for names ending in "loss") or the max (otherwise)."""
        values = self._series.get(metric) or []
        if not values:
            raise ValueError(f"history has no {metric!r} values (was a validation loader given?)")
        mode = mode or ("min" if metric.endswith("loss") else "max")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        value = min(values) if mode == "min" else max(values)
        return values.index(value) + 1, value

    def frame(self):
        """The per-epoch series as a pandas DataFrame, one row per epoch (index from 1)."""
        import pandas as pd

        cols = {name: values for name, values in self._series.items() if values}
        lengths = {name: len(values) for name, values in cols.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"series have different lengths, cannot tabulate: {lengths}")
        return pd.DataFrame(cols, index=pd.RangeIndex(1, len(self) + 1, name="epoch"))
