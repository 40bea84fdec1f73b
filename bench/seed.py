"""6. Seeding: tables, `manage.py seed_demo --count N`, a staff account; CPU of seed_demo vs DynamoDB Local."""
import os
import re
import resource
import time

from pathlib import Path

from .common import log, manage


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def prepare(env: dict, *, count: int, dynamodb_pid: int, seed: int = 1, progress: bool = True) -> dict:
    """Create the tables, seed `count` demo leads and create the bench's staff account; time the seeding."""
    manage(env, "create_tables")
    python_before, dynamodb_before = _children_cpu(), _cpu_seconds(dynamodb_pid)
    log(f"seed_demo --count {count} into {env['DYNAMODB_TABLE_PREFIX']}* ...")
    started = time.perf_counter()
    result = manage(env, "seed_demo", "--count", str(count), "--seed", str(seed), "--verbosity", "1" if progress else "0",
                    stream_stderr=progress, timeout=3600)
    seconds = time.perf_counter() - started
    python_cpu = _children_cpu() - python_before
    stored = int(re.search(r"Stored (\d+) demo leads", result).group(1))
    manage(env, "createstaff", "--noinput")
    # Each lead is two items (the lead and its "created" history event), in 25-item BatchWriteItem calls.
    return {"count": stored, "seconds": seconds, "leads_per_s": stored / seconds, "items_per_s": 2 * stored / seconds,
            "seed_process_cpu_s": python_cpu, "dynamodb_local_cpu_s": _cpu_seconds(dynamodb_pid) - dynamodb_before}
