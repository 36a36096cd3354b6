"""twsapp: trade through the Interactive Brokers TWS API socket."""

__version__ = "0.1.0"

import logging as _logging

# A library logs, the application decides where it goes (the CLI configures handlers).
_logging.getLogger("twsapp").addHandler(_logging.NullHandler())
