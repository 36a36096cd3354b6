"""The soak: `twsapp run` against `twsapp sim` for a simulated week, TWS's nightly restart
included, watched for memory growth and for a summary that drifts from what TWS holds.

`make soak` (``python -m soak``); not part of `make test`. See soak/__main__.py.
"""
