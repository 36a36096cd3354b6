"""`make bench`: twsapp against a bare ibapi program (and ib_async) on one `twsapp sim`.

``python -m bench`` runs every scenario and writes ``bench/results/latest.json`` and
``latest.png``; ``python -m bench --tiny`` runs a small configuration of the same code (the
test suite's smoke test). See the README's performance section for what each figure means.
"""
