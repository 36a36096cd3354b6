"""twsapp: trade through the Interactive Brokers TWS API socket."""

__version__ = "0.1.0"
