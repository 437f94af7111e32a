"""The README's "A short tour" block, pasted into bash as written, against all six services as processes.

The block takes every base URL from a variable whose default is the `make run` address, so the test only
points those variables at its own stack (and gives ``yunkefu token`` the stack's secret); everything else
runs exactly as a person would paste it. Bash runs with ``-euo pipefail`` so an unset variable, a missing
tool or a wait that gives up stops the tour, and the assertions below check what it printed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from devtools.seed import DEFAULT_SIZE
from devtools.stack import Stack
from shared.config import SERVICES, project_root

ROOT = project_root()


def tour_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## A short tour") :]
    return section[section.index("```bash\n") + len("```bash\n") : section.index("\n```\n")]


def tour_env(stack: Stack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {s.upper() for s in SERVICES}}
    env.update({service.upper(): stack.config.base_url(service) for service in SERVICES})
    # the venv running the tests provides `yunkefu` even when it is not ./.venv (CI uses .ci-venv)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # `yunkefu token` in the tour signs with the stack's private key, as the console would
    env["JWT_PRIVATE_KEY_FILE"] = str(stack.config.private_key_file)
    env["JWT_PUBLIC_KEYS"] = str(stack.config.public_keys)
    return env


def run(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_readme_tour_runs_as_written(stack: Stack) -> None:
    for tool in ("bash", "curl", "jq"):
        assert shutil.which(tool), f"the README tour needs {tool} (CI installs jq in .ci/run)"
    env = tour_env(stack)

    done = run(["bash", "-euo", "pipefail", "-c", tour_block()], env)
    printed = done.stdout
    assert done.returncode == 0, f"the tour stopped (exit {done.returncode}):\n{printed}\n{done.stderr}"
    assert "gave up waiting" not in done.stderr, done.stderr

    def line(pattern: str) -> re.Match[str]:
        found = re.search(pattern, printed, re.M)
        assert found, f"the tour did not print /{pattern}/:\n{printed}\n{done.stderr}"
        return found

    line(rf"^imported {DEFAULT_SIZE} candidates from \S+: {DEFAULT_SIZE} new, 0 already in the pool")
    line(r'^\{"missing":\["materials","go_live"\],"faq_unanswered":16\}$')
    line(r'^\{"status":"submitted"\}$')
    line(r'^\{"status":"confirmed"\}$')
    line(r"^requisition: 30 matched of 30, due \d{4}-\d\d-\d\d$")
    line(r"^cohort: 30 trainees, target 20$")
    line(r'^\{"courseware":"confirmed"\}$')
    line(r"^training: 24 passed → 20 admitted, 4 waitlisted$")
    line(r"^pool: 15 active \+ 5 reserve$")
    line(r"^roster: 140 of 140 agent-shifts \(100(\.0)?%\)$")
    line(r"^surge: accepted, 3 extra seats, \d covered by reserves$")
    line(r"^departure: a reserve takes over \d+ shifts")
    line(r"^history: 18 days, 864 half-hours$")
    # the sample is a large shop's Double 11: the 19 agents left cannot staff it; the plan says by how many
    plan = line(
        r"^plan: (\d+) agents needed, 19 in the pool, gap (\d+); coverage ([\d.]+)% \(greedy ([\d.]+)%\)$"
    )
    needed, gap, coverage, greedy = plan.groups()
    assert int(gap) == int(needed) - 19 > 0 and float(coverage) >= float(greedy)
    line(r"^complaint TS\d{8}-\d{4}: supervisor level, assigned to sup-chen$")
    line(r'^\{"status":"resolved","penalty":"50.00"\}$')
    line(r"^billing has 8.00 h for \d{4}-\d\d-\d\d$")
    line(r"^billing has the 50.00 penalty$")
    # one payslip: 8 h × 20.00 less the 50.00 penalty
    month = line(r"^payroll (\d{4}-\d\d): approved, total 110.00 CNY$").group(1)
    assert len(re.findall(r"^[0-9a-f-]{36}," + month + r",approved,", printed, re.M)) == 1, printed
    # the merchant's invoice: the 8 h at 25.00 + 6% VAT
    line(r'^\{"basis":"agent_hour","agent_hour_price":"25.00","tax_rate":"0.06"\}$')
    invoice = line(r"^invoice (FP\d{4}-\d{5}): 200.00 \+ VAT 12.00 = 212.00 CNY, due \d{4}-\d\d-\d\d$")
    number = invoice.group(1)
    line(rf"^the merchant sees 1 invoice\(s\): {number}$")
    line(r"^application/pdf$")
    assert int(line(r"^calendar: (\d+) shifts$").group(1)) > 0
    line(r"^leave: approved, [01] shift\(s\) taken by a reserve$")
    line(r"^on duty now: \d+ expected, 0 clocked in, \d+ missing$")
    line(
        rf"^payslip {month}: 110.00 CNY — 8 h × 20.00 CNY/h; penalty for upheld complaint TS\d{{8}}-\d{{4}}$"
    )

    # seeding again changes nobody's count: every phone is already in the pool
    again = run(["yunkefu", "seed", "--url", env["RECRUITMENT"]], env, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{DEFAULT_SIZE} candidates from yunkefu-seed.csv: 0 new, {DEFAULT_SIZE} already" in again.stdout
    assert re.search(rf"^talent pool: {DEFAULT_SIZE} candidates,", again.stdout, re.M), again.stdout
