"""python -m bench: build (or re-use) the province-scale database, then time the dashboards.

    python -m bench                   # SQLite file bench/data/bench.sqlite
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/kns_bench python -m bench
    python -m bench --regenerate      # build the dataset again even when it is there
    python -m bench --scale 0.01      # a small dataset, to try the bench itself quickly

The exit status is 1 when a figure differs from the naive recount or a budget is missed.
"""

import argparse
import os
import secrets
import sys

from bench import dashboards, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true", help="build the dataset even if it is there")
    parser.add_argument("--generate-only", action="store_true", help="build or check the dataset, time nothing")
    parser.add_argument("--scale", type=float, default=1.0, help="dataset size against the province (default 1)")
    parser.add_argument("--seed", type=int, default=generate.SEED)
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page (default 30)")
    parser.add_argument("--naive-runs", type=int, default=5, help="timed naive recounts (default 5)")
    args = parser.parse_args(argv)
    # Sessions only live as long as the run; a throwaway key leaves instance/ untouched.
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))

    url = generate.database_url(args.scale)
    generation = generate.ensure(url, generate.Size.at(args.scale), args.seed, args.regenerate)
    if args.generate_only:
        return 0
    return dashboards.run(url, args.requests, args.naive_runs, generation)


if __name__ == "__main__":
    sys.exit(main())
