"""From an instrument specification to the plain keys the statistics take."""

from __future__ import annotations

import pandas as pd

from analysis.reliability.keying import ItemKeys
from instrument.spec import Instrument

__all__ = ["item_keys"]


def item_keys(instrument: Instrument) -> ItemKeys:
    """The keys and response scales of every item of an instrument, for the statistics.

    Parameters
    ----------
    instrument : Instrument
        The specification (:func:`instrument.spec.load_instrument`).

    Returns
    -------
    ItemKeys
        ``keys`` (+1/-1, the items' ``keyed`` field), ``scale_min``/``scale_max`` and ``codes``
        (each item's response scale), ``source`` naming the instrument. Pass it as ``keys=`` to
        :func:`~analysis.reliability.cronbach_alpha`, :func:`~analysis.reliability.omega`,
        :func:`~analysis.reliability.split_half` or :func:`~analysis.reliability.key_items`.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> keys = item_keys(load_instrument())
    >>> sorted(set(keys.keys.tolist()))
    [-1, 1]
    """
    if not isinstance(instrument, Instrument):
        raise TypeError(f"instrument: expected an Instrument, got {type(instrument).__name__}")
    ids = list(instrument.item_ids)
    scales = [instrument.response_scale_of(i) for i in ids]
    return ItemKeys(
        keys=pd.Series([instrument.item(i).keyed for i in ids], index=ids, dtype="int64"),
        scale_min=pd.Series([float(s.minimum) for s in scales], index=ids),
        scale_max=pd.Series([float(s.maximum) for s in scales], index=ids),
        codes={i: tuple(float(c) for c in s.codes) for i, s in zip(ids, scales, strict=True)},
        source=f"the instrument {instrument.metadata.short_name!r}",
    )
