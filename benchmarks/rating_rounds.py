"""Rounds of next + submit in one process, to count their instructions under callgrind.

    python benchmarks/rating_rounds.py --build /tmp/r.db
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python benchmarks/rating_rounds.py /tmp/r.db 0      # and again with 100

callgrind counts instructions, not seconds, so the count does not drift with the machine's
speed the way timings do. The difference between the runs with 100 rounds and with 0
(both after 20 warm-up rounds, each on a fresh copy of the built database), divided by
100, is the cost of one round: the rater API's next and submit through the Flask test
client, the HTTP server left out. To count an earlier checkout's code, put it first on the path
(``PYTHONPATH=/tmp/before``) for both the build and the runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from bench_rating import ANSWERS, build

from workbench.app import create_app

WARM_UP = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", type=Path, help="the SQLite file --build made")
    parser.add_argument("rounds", type=int, nargs="?", default=100)
    parser.add_argument("--build", action="store_true", help="build the database (3,000 items, 4 raters) and stop")
    args = parser.parse_args()
    meta = args.database.with_suffix(".json")
    if args.build:
        meta.write_text(json.dumps(build(f"sqlite:///{args.database}", 4, 3000)[:2]))
        return
    project_id, tokens = json.loads(meta.read_text())
    copy = args.database.with_suffix(f".{args.rounds}.db")
    shutil.copy(args.database, copy)
    client = create_app({"DATABASE_URL": f"sqlite:///{copy}", "SECRET_KEY": "x" * 32}).test_client()
    for n in range(WARM_UP + args.rounds):
        headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
        lease_id = client.get(f"/api/v1/projects/{project_id}/next", headers=headers).get_json()["lease_id"]
        body = {"answers": ANSWERS, "idempotency_key": f"{n}-{lease_id}"}
        response = client.post(f"/api/v1/leases/{lease_id}/judgment", json=body, headers=headers)
        assert response.status_code in (200, 201), response.data


if __name__ == "__main__":
    main()
