"""What every part of the bench hands back: figures beside their baselines, and budgets.

A part (dashboards, search, logging, exports, phone) returns a `Part`. `python -m bench`
prints each part's table, writes every part into bench/results.json and exits 1 when any
budget is missed, so a run is judged by the same numbers it prints.
"""

import statistics
from dataclasses import asdict, dataclass, field


@dataclass
class Budget:
    """One budget of the README's Performance section, judged on a figure of this run."""

    name: str
    value: float
    limit: float
    at_most: bool = True  # False: the value must be at least the limit
    unit: str = ""

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def line(self) -> str:
        sign = "<=" if self.at_most else ">="
        verdict = "ok" if self.met else "MISSED"
        return f"  {self.name:52}{self.value:>12,.2f} {self.unit:5} {sign} {self.limit:<10,g} {verdict}"

    def as_dict(self) -> dict:
        return {**asdict(self), "met": self.met}


@dataclass
class Part:
    """A part's results: `figures` (JSON-ready, for results.json), `table` (the lines printed
    on the terminal, figure beside baseline) and the `budgets` it judges."""

    name: str
    figures: dict = field(default_factory=dict)
    table: list[str] = field(default_factory=list)
    budgets: list[Budget] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # wrong answers, errors: a failed run

    @property
    def passed(self) -> bool:
        return not self.problems and all(budget.met for budget in self.budgets)

    def print(self) -> None:
        print(f"\n== {self.name}")
        for line in self.table:
            print(line)
        for budget in self.budgets:
            print(budget.line())
        for problem in self.problems:
            print(f"  PROBLEM: {problem}")

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "figures": self.figures,
            "budgets": [budget.as_dict() for budget in self.budgets],
            "problems": self.problems,
        }


def summary(values: list[float]) -> dict:
    """Median and 95th percentile of timings (in whatever unit they came)."""
    p95 = statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]
    return {"median": round(statistics.median(values), 2), "p95": round(p95, 2), "n": len(values),
            "samples": [round(value, 2) for value in values]}  # fmt: skip


def timing_line(name: str, figure: dict, unit: str = "ms") -> str:
    return f"  {name:40}{figure['median']:>12,.1f}{figure['p95']:>12,.1f} {unit:3}{figure['n']:>6}"


def timing_header() -> str:
    return f"  {'':40}{'median':>12}{'p95':>12}{'':4}{'n':>6}"
