"""CPU per request in-process, app vs floor (`python -m bench.profile app|floor N`; BENCH_CPROFILE=DIR dumps .prof files)."""
import contextlib
import cProfile
import json
import os
import sys
import time

from .common import PAGES, child_json, contact_json, django_client, median, ratio, rotated


def child(side: str, requests_each: int) -> dict:
    client, dump, report = django_client(os.environ["BENCH_SESSION"]), os.environ.get("BENCH_CPROFILE"), {}
    for page, (_label, app_path, floor_path, _ceiling) in PAGES.items():
        path = (floor_path if side == "floor" else app_path).format(lead=os.environ["BENCH_LEAD"])

        def once():
            if page == "contact_post":
                body, headers = contact_json()
                response = client.post(path, body, content_type="application/json", headers=headers)
            else:
                response = client.get(path)
            assert response.status_code == (201 if page == "contact_post" else 200), response.content[:300]

        for _ in range(20):  # warm: connection pool, template cache
            once()
        profiler = cProfile.Profile() if dump else None
        cpu, wall = time.process_time(), time.perf_counter()
        with profiler or contextlib.nullcontext():  # a Profile enables itself inside `with`
            for _ in range(requests_each):
                once()
        report[page] = {"cpu_ms": (time.process_time() - cpu) * 1000 / requests_each,
                        "wall_ms": (time.perf_counter() - wall) * 1000 / requests_each}
        if profiler:
            profiler.dump_stats(os.path.join(dump, f"{side}-{page}.prof"))
    return report


def cpu_per_request(*, app_env: dict, baseline_env: dict, session: str, lead: str, rounds: int, requests_each: int) -> dict:
    """CPU ms per request of each page, app vs floor, medians over interleaved rounds (DynamoDB Local's CPU excluded)."""
    extra = {"BENCH_SESSION": session, "BENCH_LEAD": lead}
    sides = {"app": {**app_env, **extra}, "floor": {**baseline_env, **extra}}
    runs: dict = {side: {page: [] for page in PAGES} for side in sides}
    for round_no in range(rounds):
        for side in rotated(sides, round_no):
            for page, figures in child_json(["-m", "bench.profile", side, str(requests_each)], sides[side]).items():
                runs[side][page].append(figures["cpu_ms"])
    result = {side: {page: median(values) for page, values in pages.items()} for side, pages in runs.items()}
    return {**result, "ratio": {page: ratio(result["app"][page], result["floor"][page]) for page in PAGES},
            "rounds": rounds, "requests_each": requests_each}


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], int(sys.argv[2]))))
