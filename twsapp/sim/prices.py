"""Deterministic prices: a seeded random walk per instrument, or a replay of recorded bars.

Prices are a pure function of (seed, conId, simulated second): never of wall time, of the order
in which instruments are asked, or of how often. That is what makes two simulator runs with the
same seed and requests produce identical message streams.

The walk moves in discrete steps (one per simulated second by default), generated in blocks of
:data:`BLOCK` steps, each block from its own seeded generator. The model keeps the walk's level
at the end of every block generated so far (one float per block) and the step-by-step path of a
few recent blocks, so advancing time costs only the new steps and old moments stay reachable
without keeping every step in memory. The walk also runs backwards from the start (its own
seeded blocks), so history before the simulation's first second is as deterministic as after.

The quote around each step's price (``quote``) and the rounding to the instrument's ticks are
computed in floats, rounded to the rule's decimals, so a whole session of steps (``path``,
``quotes``) is cheap enough for the tape to derive volume and the day's range from it.
"""

from __future__ import annotations

import array
import csv
import functools
import itertools
import math
import random
import statistics
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .inputs import SimInputError
from .instruments import Catalog, increment_at

BLOCK = 4096
SECONDS_PER_TRADING_DAY = 23_400.0  # 6.5 h: "daily" volatility is per regular session
_CACHED_BLOCKS = 8
_QUOTE_LOTS = {"STK": Decimal(100), "CASH": Decimal(100_000)}  # quote size unit; others: 1


@dataclass(frozen=True)
class Quote:
    bid: float
    ask: float
    last: float
    bid_size: Decimal
    ask_size: Decimal


@dataclass(frozen=True)
class Bar:
    start: float  # simulated seconds
    end: float
    open: float
    high: float
    low: float
    close: float
    volume: Decimal


@dataclass
class _Walk:
    """One direction of a seeded walk: checkpoints and the recently used blocks."""

    prefix: str  # seeds its blocks: "walk" forwards from the start, "walkback" backwards
    ends: list[float] = field(default_factory=list)  # log level after each generated block
    blocks: OrderedDict[int, list[float]] = field(default_factory=OrderedDict)


@dataclass
class _Series:
    """Per-instrument state: parameters, the walk in both directions, replayed bars."""

    base_price: float
    volatility: float
    rule: list[tuple[float, float]]
    lot: Decimal
    forward: _Walk = field(default_factory=lambda: _Walk("walk"))
    backward: _Walk = field(default_factory=lambda: _Walk("walkback"))
    bars: list[Bar] | None = None
    decimals: int = 0  # the most decimals any increment of the rule has

    def __post_init__(self) -> None:
        self.decimals = max(_decimals(increment) for _, increment in self.rule)


class PriceModel:
    """Seeded price paths for every registered instrument (all of ``catalog``'s, if given).

    ``step_seconds`` is the walk's resolution; volatility is a daily fraction scaled to a
    6.5-hour session, so a 0.02 instrument moves about 2 % (one standard deviation) a day.
    """

    def __init__(
        self, seed: int, catalog: Catalog | None = None, step_seconds: float = 1.0
    ) -> None:
        if step_seconds <= 0:
            raise ValueError(f"step_seconds must be > 0, got {step_seconds}")
        self.seed = seed
        self.step_seconds = float(step_seconds)
        self._series: dict[int, _Series] = {}
        # Reads fill caches, so even price_at mutates: one lock keeps concurrent callers safe.
        self._lock = threading.RLock()
        if catalog is not None:
            for instrument in catalog:
                exchange = instrument.contract.exchange
                rule = catalog.market_rule(instrument.rule_for_exchange(exchange))
                lot = _QUOTE_LOTS.get(instrument.contract.secType, Decimal(1))
                rule = rule or [(0.0, instrument.min_tick)]
                self.add(instrument.con_id, instrument.base_price, instrument.volatility, rule, lot)

    @classmethod
    def for_catalog(cls, catalog: Catalog, seed: int, step_seconds: float = 1.0) -> PriceModel:
        """A model pricing every catalog instrument on the market rule of its default exchange."""
        return cls(seed, catalog, step_seconds)

    def add(
        self,
        con_id: int,
        base_price: float,
        volatility: float,
        rule: Sequence[tuple[float, float]],
        lot: Decimal = Decimal(100),
    ) -> None:
        """Register (or re-register, discarding its path) an instrument.

        ``rule`` is the (low edge, increment) ladder prices are rounded to; ``lot`` scales quote
        sizes (each side shows 1 to 8 lots).
        """
        if base_price <= 0:
            raise ValueError(f"base price must be > 0, got {base_price}")
        if volatility < 0:
            raise ValueError(f"volatility must be >= 0, got {volatility}")
        if not rule:
            raise ValueError("a price rule needs at least one (low edge, increment)")
        with self._lock:
            self._series[con_id] = _Series(base_price, volatility, list(rule), lot)

    def set_volatility(self, con_id: int, volatility: float) -> None:
        """Change an instrument's volatility; its path is regenerated from the start."""
        series = self._get(con_id)
        self.add(con_id, series.base_price, volatility, series.rule, series.lot)

    def __contains__(self, con_id: object) -> bool:
        return con_id in self._series

    # ----------------------------------------------------------------------- replay

    def load_bars_csv(
        self, con_id: int, path: str | Path, origin: datetime | None = None
    ) -> list[Bar]:
        """Replace the walk of ``con_id`` by the bars of a CSV (time,open,high,low,close,volume).

        ``time`` is a bar's start: an absolute timestamp (ISO 8601, ``YYYYMMDD HH:MM:SS``,
        ``YYYYMMDD``, or epoch seconds above 10**8) mapped to simulated seconds from ``origin``
        (default: the first bar's time, so the replay starts at once), or a plain number of
        seconds from the start of the simulation. Within a bar the price runs open -> low ->
        high -> close for an up bar (open -> high -> low -> close otherwise), linearly.
        """
        series = self._get(con_id)
        rows = _read_bar_rows(path)
        times = [_bar_time(row["time"], path, n) for n, row in rows]
        absolute = [t for t in times if isinstance(t, datetime)]
        if absolute and len(absolute) != len(times):
            raise SimInputError(
                f"{path}: mixes absolute timestamps and relative seconds in column time"
                " — use one kind for every row"
            )
        if absolute:
            zero = origin or absolute[0]
            starts = [(t - zero).total_seconds() for t in absolute]
        else:
            starts = [float(t) for t in times]  # type: ignore[arg-type]
        for (line, _), a, b in zip(rows[1:], starts, starts[1:], strict=False):
            if b <= a:
                raise SimInputError(
                    f"{path}:{line}: bar times must strictly increase"
                    " — sort the rows by time and drop duplicates"
                )
        bars: list[Bar] = []
        for index, ((line, row), start) in enumerate(zip(rows, starts, strict=True)):
            if index + 1 < len(starts):
                end = starts[index + 1]
            else:
                end = start + (start - starts[index - 1] if index else 60.0)
            prices = [_positive(row[k], path, line, k) for k in ("open", "high", "low", "close")]
            o, h, low, c = prices
            if not (low <= min(o, c) and h >= max(o, c)):
                raise SimInputError(
                    f"{path}:{line}: high/low do not bracket open/close"
                    " — high must be >= open and close, low <= both"
                )
            try:
                volume = Decimal(row.get("volume") or 0)
            except InvalidOperation:
                volume = Decimal("NaN")
            if not volume.is_finite() or volume < 0:
                raise SimInputError(
                    f"{path}:{line}: volume {row['volume']!r} is not a number >= 0"
                    " — write the bar's volume, or leave the cell empty"
                )
            bars.append(Bar(start, end, o, h, low, c, volume))
        with self._lock:
            series.bars = bars
        return bars

    # ----------------------------------------------------------------------- prices

    def price_at(self, con_id: int, sim_seconds: float) -> float:
        """The last trade price at ``sim_seconds`` (before the start too), on the rule's ticks."""
        series = self._get(con_id)
        step = self._step(sim_seconds)
        with self._lock:
            return self._price(con_id, series, step)

    def quote(self, con_id: int, sim_seconds: float) -> Quote:
        """Bid/ask around the last price: a 1- or 2-tick spread, sizes of 1 to 8 lots."""
        series = self._get(con_id)
        step = self._step(sim_seconds)
        with self._lock:
            return self._quote(con_id, series, step, self._price(con_id, series, step))

    def path(self, con_id: int, first: int, last: int) -> list[float]:
        """The price of every step from ``first`` to ``last`` (inclusive): a session at a time."""
        series = self._get(con_id)
        with self._lock:
            if series.bars is not None or series.volatility == 0.0:
                return [self._price(con_id, series, step) for step in range(first, last + 1)]
            levels = self._levels(con_id, series, first, last)
            base, exp = series.base_price, math.exp
            if len(series.rule) == 1:  # one increment at every price: round inline
                increment, digits, floor = series.rule[0][1], series.decimals, series.rule[0][1]
                prices = [
                    round(round(base * exp(lv) / increment) * increment, digits) for lv in levels
                ]
                return [p if p >= floor else floor for p in prices]
            on_tick = self._on_tick
            return [on_tick(series, base * exp(level)) for level in levels]

    def quotes(self, con_id: int, first: int, last: int) -> list[Quote]:
        """The quote of every step from ``first`` to ``last`` (inclusive)."""
        series = self._get(con_id)
        prices = self.path(con_id, first, last)
        with self._lock:
            return [
                self._quote(con_id, series, step, price)
                for step, price in zip(range(first, last + 1), prices, strict=True)
            ]

    def mids(self, con_id: int, first: int, last: int) -> list[float]:
        """The quote midpoint of every step from ``first`` to ``last`` (inclusive)."""
        series = self._get(con_id)
        prices = self.path(con_id, first, last)
        digits = series.decimals + 1
        out: list[float] = []
        bits_of = self._quote_bits
        single = series.rule[0][1] if len(series.rule) == 1 else None
        with self._lock:
            for step, price in zip(range(first, last + 1), prices, strict=True):
                bits = bits_of(con_id, step)
                if single is not None and price > single:  # _touch's shapes, inline
                    shift = 0.0 if bits & 1 else (single / 2 if bits & 2 else -single / 2)
                    out.append(round(price + shift, digits))
                else:
                    out.append(midpoint(*self._touch(series, bits, price), digits))
        return out

    def decimals(self, con_id: int) -> int:
        """How many decimals the instrument's prices have at most (a midpoint has one more)."""
        return self._get(con_id).decimals

    def iter_prices(self, con_id: int, after: float, until: float) -> Iterator[tuple[float, float]]:
        """(sim seconds, price) at every step in (after, until]: what a matcher must not skip."""
        first = self._step(after) + 1
        last = self._step(until)
        for step in range(first, last + 1):
            t = step * self.step_seconds
            yield t, self.price_at(con_id, t)

    def fingerprint(self, con_id: int) -> tuple | None:
        """Everything the instrument's path depends on, to share what is derived from it
        between models; None for replayed bars (a file's content is not in it)."""
        series = self._get(con_id)
        if series.bars is not None:
            return None
        rule = tuple(series.rule)
        return (self.seed, con_id, series.base_price, series.volatility, rule, self.step_seconds)

    def lot(self, con_id: int) -> Decimal:
        """The unit quote sizes are counted in (100 shares, 100,000 units of currency, 1)."""
        return self._get(con_id).lot

    def mix(self, con_id: int, step: int, salt: int = 0) -> int:
        """64 seeded bits for ``(con_id, step)``: the randomness of a step's quote and trades."""
        value = (
            self.seed * 0x9E3779B97F4A7C15 + con_id * 0xBF58476D1CE4E5B9 + step + (salt << 40)
        ) & _MASK
        value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
        return value ^ (value >> 31)

    # ----------------------------------------------------------------------- internals

    def _get(self, con_id: int) -> _Series:
        try:
            return self._series[con_id]
        except KeyError:
            raise KeyError(f"no price series for conId {con_id}") from None

    def _step(self, sim_seconds: float) -> int:
        # A tiny epsilon keeps t = k * step_seconds on step k despite float division.
        return math.floor(sim_seconds / self.step_seconds + 1e-9)

    def _price(self, con_id: int, series: _Series, step: int) -> float:
        if series.bars is not None:
            raw = _bar_price(series.bars, step * self.step_seconds)
        else:
            raw = series.base_price * math.exp(self._level(con_id, series, step))
        return self._on_tick(series, raw)

    def _quote(self, con_id: int, series: _Series, step: int, last: float) -> Quote:
        bits = self._quote_bits(con_id, step)
        bid, ask = self._touch(series, bits, last)
        bid_size = series.lot * (1 + ((bits >> 2) & 7))
        ask_size = series.lot * (1 + ((bits >> 5) & 7))
        return Quote(bid, ask, last, bid_size, ask_size)

    @staticmethod
    def _touch(series: _Series, bits: int, last: float) -> tuple[float, float]:
        """Bid and ask around ``last``, shaped by a step's seeded bits."""
        tick = increment_at(series.rule, last)
        if bits & 1:  # two ticks wide, the last trade in the middle
            bid, ask = last - tick, last + tick
        elif bits & 2:  # one tick wide, the last trade hit the bid
            bid, ask = last, last + tick
        else:  # one tick wide, the last trade lifted the offer
            bid, ask = last - tick, last
        bid, ask = round(bid, series.decimals), round(ask, series.decimals)
        if bid <= 0:
            spread = _decimal(ask) - _decimal(bid)
            bid, ask = tick, float(_decimal(tick) + spread)
        return bid, ask

    @staticmethod
    def _on_tick(series: _Series, raw: float) -> float:
        """``raw`` rounded half-even to the rule's increment at that price, as the exact decimal
        (``round(.., decimals)`` returns the double nearest the decimal: no 150.01000000000002)."""
        rule = series.rule
        increment = rule[0][1]
        for low_edge, tier in rule:
            if abs(raw) >= low_edge:
                increment = tier
        price = round(round(raw / increment) * increment, series.decimals)
        floor = rule[0][1]
        return price if price >= floor else floor

    def _sigma(self, series: _Series) -> float:
        return series.volatility * math.sqrt(self.step_seconds / SECONDS_PER_TRADING_DAY)

    def _block_increments(self, prefix: str, con_id: int, block: int, sigma: float) -> list[float]:
        rng = random.Random(f"{prefix}:{self.seed}:{con_id}:{block}")
        if prefix == "walk":  # the forward walk keeps the generator every recorded run used
            gauss = rng.gauss
            return [sigma * gauss(0.0, 1.0) for _ in range(BLOCK)]
        # History reaches far back (a Monday's previous close is 66 hours away): one of 65536
        # equiprobable normal quantiles per step, picked by seeded bytes (read little-endian
        # on every machine), thirty times faster than gauss.
        draws = array.array("H", rng.randbytes(2 * BLOCK))
        if sys.byteorder == "big":
            draws.byteswap()
        return list(map(_normal_table(sigma).__getitem__, draws))

    def _level(self, con_id: int, series: _Series, step: int) -> float:
        """Log price relative to the base after ``step`` steps (before the start if negative)."""
        if step == 0 or series.volatility == 0.0:
            return 0.0
        if step > 0:
            return self._walk(con_id, series, series.forward, step)
        return -self._walk(con_id, series, series.backward, -step)

    def _levels(self, con_id: int, series: _Series, first: int, last: int) -> list[float]:
        """``_level`` of every step from ``first`` to ``last``, a block slice at a time."""
        levels: list[float] = []
        step = first
        while step <= last:
            if step == 0:
                levels.append(0.0)
                step += 1
            elif step > 0:
                block, index = divmod(step - 1, BLOCK)
                path = self._block(con_id, series, series.forward, block)
                stop = min(BLOCK, index + 1 + last - step)
                levels.extend(path[index:stop])
                step += stop - index
            else:  # k steps before the start: minus the backward walk's level after k steps
                k, k_min = -step, max(1, -last)
                block, index = divmod(k - 1, BLOCK)
                path = self._block(con_id, series, series.backward, block)
                lowest = max(0, index - (k - k_min))
                levels.extend(-level for level in reversed(path[lowest : index + 1]))
                step += index + 1 - lowest
        return levels

    def _walk(self, con_id: int, series: _Series, walk: _Walk, step: int) -> float:
        block, index = divmod(step - 1, BLOCK)
        return self._block(con_id, series, walk, block)[index]

    def _block(self, con_id: int, series: _Series, walk: _Walk, block: int) -> list[float]:
        sigma = self._sigma(series)
        while len(walk.ends) <= block:  # extend the checkpoints: each new block once
            new_block = len(walk.ends)
            start = walk.ends[-1] if walk.ends else 0.0
            increments = self._block_increments(walk.prefix, con_id, new_block, sigma)
            path = _cumulate(start, increments)
            walk.ends.append(path[-1])
            self._remember(walk, new_block, path)
        cached = walk.blocks.get(block)
        if cached is None:  # an older block: regenerate it from its checkpoint
            start = walk.ends[block - 1] if block else 0.0
            cached = _cumulate(start, self._block_increments(walk.prefix, con_id, block, sigma))
            self._remember(walk, block, cached)
        else:
            walk.blocks.move_to_end(block)
        return cached

    @staticmethod
    def _remember(walk: _Walk, block: int, path: list[float]) -> None:
        walk.blocks[block] = path
        walk.blocks.move_to_end(block)
        while len(walk.blocks) > _CACHED_BLOCKS:
            walk.blocks.popitem(last=False)

    def _quote_bits(self, con_id: int, step: int) -> int:
        # Seeded per step from integers only, so the quote shape is as deterministic as prices.
        mixed = (self.seed * 0x9E3779B97F4A7C15 + con_id * 0xBF58476D1CE4E5B9 + step) & _MASK
        mixed ^= mixed >> 31
        mixed = (mixed * 0x94D049BB133111EB) & _MASK
        return mixed ^ (mixed >> 29)


_MASK = (1 << 64) - 1


@functools.cache
def _standard_quantiles() -> tuple[float, ...]:
    """65536 equiprobable quantiles of the standard normal, scaled to a variance of exactly 1."""
    normal = statistics.NormalDist()
    count = 1 << 16
    raw = [normal.inv_cdf((i + 0.5) / count) for i in range(count)]
    scale = 1.0 / math.sqrt(sum(x * x for x in raw) / count)
    return tuple(x * scale for x in raw)


@functools.lru_cache(maxsize=64)
def _normal_table(sigma: float) -> tuple[float, ...]:
    """The quantiles for a walk step of deviation ``sigma``."""
    return tuple(sigma * x for x in _standard_quantiles())


def _cumulate(start: float, increments: Iterable[float]) -> list[float]:
    """The levels after each increment (the same additions, in the same order, as a loop)."""
    path = list(itertools.accumulate(increments, initial=start))
    del path[0]
    return path


def midpoint(bid: float, ask: float, digits: int) -> float:
    """The midpoint as the exact decimal it is (half a tick has one more decimal than a tick)."""
    return round((bid + ask) / 2, digits)


def _decimals(value: float) -> int:
    exponent = Decimal(repr(value)).normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value))


def _bar_price(bars: Sequence[Bar], t: float) -> float:
    if t < bars[0].start:
        return bars[0].open
    if t >= bars[-1].end:
        return bars[-1].close
    lo, hi = 0, len(bars) - 1
    while lo < hi:  # the last bar starting at or before t
        mid = (lo + hi + 1) // 2
        if bars[mid].start <= t:
            lo = mid
        else:
            hi = mid - 1
    bar = bars[lo]
    first, second = (bar.low, bar.high) if bar.close >= bar.open else (bar.high, bar.low)
    points = (bar.open, first, second, bar.close)
    position = (t - bar.start) / (bar.end - bar.start) * 3.0
    segment = min(int(position), 2)
    frac = position - segment
    return points[segment] + (points[segment + 1] - points[segment]) * frac


BAR_COLUMNS = ("time", "open", "high", "low", "close")


def _read_bar_rows(path: str | Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, cells by lower-case column) of each row; refuses what cannot be bars."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            missing = [c for c in BAR_COLUMNS if c not in header]
            if missing:
                raise SimInputError(
                    f"{path}: missing column(s) {', '.join(missing)} — the first line must "
                    f"name the columns {','.join(BAR_COLUMNS)}[,volume]"
                )
            rows = [
                (n, {k.strip().lower(): (v or "").strip() for k, v in row.items() if k})
                for n, row in enumerate(reader, start=2)
            ]
    except OSError as exc:
        raise SimInputError(
            f"{path}: cannot read bars file ({exc.strerror or exc}) — check the path"
        ) from exc
    except UnicodeDecodeError as exc:
        raise SimInputError(
            f"{path}: not UTF-8 text (byte {exc.start}) — save it as UTF-8 CSV"
        ) from exc
    except csv.Error as exc:
        raise SimInputError(f"{path}: not readable as CSV ({exc}) — check its quoting") from exc
    if not rows:
        raise SimInputError(f"{path}: no bars — add one row per bar below the header line")
    return rows


def _bar_time(text: str, path: str | Path, line: int) -> datetime | float:
    """Epoch/relative seconds, ISO 8601, or IB's ``YYYYMMDD[ HH:MM:SS[ zone]]``; naive = UTC."""
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            raise SimInputError(
                f"{path}:{line}: time {text!r} is not a time — write seconds from the start, "
                "epoch seconds, or a timestamp such as 2026-11-23T14:30:00Z"
            )
        return datetime.fromtimestamp(value, UTC) if value > 1e8 else value
    parts = text.split()
    zone = None
    if len(parts) == 3:
        try:
            zone = ZoneInfo(parts[2])
        except (ZoneInfoNotFoundError, ValueError):
            raise SimInputError(
                f"{path}:{line}: unknown time zone in {text!r} — use an IANA name such as "
                "America/New_York"
            ) from None
    for parse in (
        lambda: datetime.fromisoformat(text),
        lambda: datetime.strptime(" ".join(parts[:2]), "%Y%m%d %H:%M:%S"),
        lambda: datetime.strptime(text, "%Y%m%d"),
    ):
        try:
            moment = parse()
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=zone or UTC)
    raise SimInputError(
        f"{path}:{line}: cannot read time {text!r} — write seconds from the start, epoch "
        "seconds, ISO 8601 (2026-11-23T14:30:00Z) or YYYYMMDD HH:MM:SS [zone]"
    )


def _positive(text: str, path: str | Path, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SimInputError(
            f"{path}:{line}: {column} {text!r} is not a number — write a price > 0"
        ) from None
    if not (value > 0 and math.isfinite(value)):
        raise SimInputError(
            f"{path}:{line}: {column} must be > 0, got {text!r} — write a price > 0"
        )
    return value
