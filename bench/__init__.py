"""Province-scale benchmark of the dashboards (`python -m bench`). Not part of `make test`.

`bench.generate` builds a seeded dataset the size of Đắk Lắk (1,000,000 households, 500,000
sessions, 3,000,000 attendance rows) with bulk inserts, and `bench.dashboards` times the
dashboards against a minimal page and a naive recount measured in the same run, because the
machine is shared and only ratios mean anything from one run to the next.
"""
