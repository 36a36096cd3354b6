"""Example strategies: copy one and make it yours."""
