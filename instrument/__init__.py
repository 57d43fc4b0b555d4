"""What is asked: the instrument specification, item banks, forms, reading and scoring responses."""

from instrument.errors import DataError, MHDQError, SpecError, UsageError
from instrument.spec import Instrument, load_instrument

__all__ = ["DataError", "Instrument", "MHDQError", "SpecError", "UsageError", "load_instrument"]
