"""The benchmark registry: a benchmark is a function returning measurements, each set next to a
ceiling (or reference) measured in the same run, so figures mean something on any machine.

Add one with:

    @benchmark("ledger", "postings per second through the ledger service")
    def ledger(ctx: Context) -> list[Measurement]:
        ...
        return [Measurement("ledger postings", 812.0, "tx/s", "raw INSERT", 9400.0, higher_is_better=True)]

and import its module in `bench/__main__.py`. Benchmarks never fail on a timing; an error in
one is reported and the others still run.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Measurement:
    figure: str
    value: float
    unit: str
    ceiling: str
    ceiling_value: float
    higher_is_better: bool = True
    note: str = ""
    ceiling_unit: str = ""  # when it differs from `unit` (rows/s against tx/s)

    @property
    def ratio(self) -> float | None:
        return self.value / self.ceiling_value if self.ceiling_value else None


@dataclass
class Context:
    args: argparse.Namespace
    workdir: Path
    notes: list[str] = field(default_factory=list)


BenchmarkFn = Callable[[Context], list[Measurement]]


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    fn: BenchmarkFn


BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(name: str, description: str) -> Callable[[BenchmarkFn], BenchmarkFn]:
    def register(fn: BenchmarkFn) -> BenchmarkFn:
        if name in BENCHMARKS:
            raise ValueError(f"benchmark {name!r} registered twice")
        BENCHMARKS[name] = Benchmark(name, description, fn)
        return fn

    return register
