"""The embedded TWS simulator: a separate world that speaks TWS's wire protocol.

It depends on ``ibapi`` (for the data classes and version constants) and the standard library,
never on the rest of twsapp.
"""
