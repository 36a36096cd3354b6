"""Server versions the tests run at: the fast path, and the matrix of TWS builds in the field."""

from ibapi.server_versions import MAX_CLIENT_VER

NEWEST = MAX_CLIENT_VER
FAST_VERSIONS = [176, NEWEST]
MATRIX_VERSIONS = [157, 176, 187, 200, 203, 213, NEWEST]
