"""6. Seeding: tables, `manage.py seed_demo --count N` (batch writes, progress bar), a staff account.

Where the time goes is reported too: CPU of the seeding process vs CPU of DynamoDB Local.
"""
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


def prepare(env: dict, *, count: int, dynamodb_pid: int, seed: int = 1, progress: bool = True) -> dict:
    """Create the tables, seed `count` demo leads and create the bench's staff account; time the seeding."""
    manage(env, "create_tables")
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    dynamodb_before = _cpu_seconds(dynamodb_pid)
    log(f"seed_demo --count {count} into {env['DYNAMODB_TABLE_PREFIX']}* ...")
    started = time.perf_counter()
    result = manage(env, "seed_demo", "--count", str(count), "--seed", str(seed), "--verbosity", "1" if progress else "0",
                    stream_stderr=progress, timeout=3600)
    seconds = time.perf_counter() - started
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    stored = int(re.search(r"Stored (\d+) demo leads", result.stdout).group(1))
    manage(env, "createstaff", "--noinput")
    python_cpu = (children_after.ru_utime + children_after.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
    return {
        "count": stored,
        "seconds": seconds,
        "leads_per_s": stored / seconds,
        # Each lead is two items (the lead and its "created" history event), in 25-item BatchWriteItem calls.
        "items_per_s": 2 * stored / seconds,
        "seed_process_cpu_s": python_cpu,
        "dynamodb_local_cpu_s": _cpu_seconds(dynamodb_pid) - dynamodb_before,
    }
