"""Scale-out under faults: three workers per service while the demo story and 10,000 extra events flow.

One stack on PostgreSQL + RabbitMQ runs one web process and THREE ``yunkefu worker`` processes per service
(they share each service's queue, outbox and periodic jobs). While the seed story plays through the HTTP
APIs, 10,000 extra events travel:

- 8,000 ``agent.admitted`` (one project, 8,000 agents) written into training's outbox, so training's three
  relays publish them; scheduling, recruitment, complaints, billing and quality consume them, each writing
  one row per agent in its read model (recruitment, whose pool does not know these people, only records
  the event in its inbox);
- 2,000 ``qa.finding`` (2,000 agents, each with a problem) written into quality's outbox; training opens
  one QA retraining record per agent (a table without a unique key on the agent: a handler run twice
  would show as two records);
- 300 + 100 copies of those events (same ids) published straight to the exchange.

Mid-flow one worker of every service gets ``kill -9`` (and is restarted later, as a supervisor would), and
every broker connection of this stack is closed twice (only this stack's: found by their local ports).
Then, once everything is quiet: every effect exactly once, the story's outcome as the seed prescribes,
nothing in any dead-letter queue, and no two runs of one periodic job overlapped (from the "periodic job
… ran" lines the workers log while they hold the job's lock).
"""

from __future__ import annotations

import itertools
import json
import signal
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest
from sqlalchemy import text

from devtools.stack import Stack
from shared.config import SERVICES
from shared.db import Database
from shared.events import topology
from shared.events.outbox import add_events
from tests.e2e.conftest import build_stack
from tests.fault.test_cross_service_faults import assert_seed_funnel, story, vendor
from tests.support import wait_until

WORKERS = 3
ADMITTED = 8_000
FINDINGS = 2_000
ADMITTED_COPIES = 300
FINDING_COPIES = 100
#: who consumes agent.admitted, and the read-model table holding one row per (project, agent)
ADMITTED_EFFECTS = {
    "scheduling": ("pool_agents", "agent_id"),
    "complaints": ("project_agents", "agent_id"),
    "quality": ("project_agents", "agent_id"),
    "billing": ("agents", "agent_id"),
    "recruitment": None,  # people not in its talent pool: the handler logs and leaves them
}
#: periodic jobs every half second (recruitment's setting takes whole seconds), so that the three workers
#: of a service keep reaching for the same job at the same moments
JOB_INTERVALS = {
    "ONBOARDING_GO_LIVE_CHECK_SECONDS": "0.5",
    "RECRUITMENT_OVERDUE_CHECK_SECONDS": "1",
    "TRAINING_JOB_INTERVAL_SECONDS": "0.5",
    "SCHEDULING_ATTENDANCE_CHECK_SECONDS": "0.5",
    "SCHEDULING_ALERT_INTERVAL_SECONDS": "0.5",
    "COMPLAINTS_ESCALATION_INTERVAL_SECONDS": "0.5",
    "COMPLAINTS_AUTO_CLOSE_INTERVAL_SECONDS": "0.5",
}


@pytest.fixture(scope="module")
def stack(
    make_database: Callable[[str], str],
    amqp_url: str,
    broker_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    running = build_stack(make_database, amqp_url, broker_prefix, tmp_path_factory.mktemp("scale"))
    running.config.workers_per_service = WORKERS
    # 21 idle relays polling every 20 ms (the stacks' default) would take a core by themselves
    running.config.extra_env.update(JOB_INTERVALS, LOG_JSON="1", LOG_LEVEL="INFO", RELAY_POLL_INTERVAL="0.1")
    try:
        running.start(timeout=180)
        yield running
    finally:
        running.stop()


def sql(stack: Stack, service: str, query: str, **params: Any) -> Any:
    database = Database(stack.config.database_urls[service])
    try:
        with database.engine.connect() as connection:
            return connection.execute(text(query), params).scalar_one()
    finally:
        database.dispose()


def write_outbox(stack: Stack, service: str, events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Commit ``events`` into ``service``'s outbox, a thousand per transaction (the relays start on the
    first while the rest are written); returns their envelopes' JSON."""
    database = Database(stack.config.database_urls[service])
    bodies = []
    try:
        for first in range(0, len(events), 1000):
            with database.session() as session:
                bodies += [e.to_json() for e in add_events(session, events[first : first + 1000])]
    finally:
        database.dispose()
    return bodies


def publish_copies(stack: Stack, bodies: list[str]) -> None:
    """The same envelopes again (same ids), straight to the exchange, confirmed."""
    connection = pika.BlockingConnection(pika.URLParameters(stack.config.amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for body in bodies:
            envelope = json.loads(body)
            channel.basic_publish(
                topology.exchange_name(stack.config.broker_prefix),
                envelope["type"],
                body.encode(),
                pika.BasicProperties(message_id=envelope["id"], delivery_mode=pika.DeliveryMode.Persistent),
                mandatory=True,
            )
    finally:
        connection.close()


def queues(stack: Stack) -> dict[str, int]:
    """Messages (ready + unacknowledged) in every queue of this stack but the audit queue."""
    return {name: n for name, n in stack.queue_depths().items() if not name.endswith(".audit")}


def pending_outbox(stack: Stack) -> dict[str, int]:
    """Outbox rows not yet published, per service that has any."""
    counts = {s: sql(stack, s, "SELECT count(*) FROM outbox WHERE published_at IS NULL") for s in SERVICES}
    return {s: n for s, n in counts.items() if n}


def log_lines(stack: Stack, service: str) -> Iterator[dict[str, Any]]:
    """The JSON lines of every worker log of ``service`` (killed ones included)."""
    for path in sorted(stack.log_dir.glob(f"{service}-worker*.log")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:  # the line a kill -9 cut short
                    continue


def test_three_workers_per_service_survive_kills_and_dropped_connections(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:6]
    project, qa_project = f"scale-{tag}", f"scale-qa-{tag}"
    for service in SERVICES:
        assert len(stack.config.worker_names(service)) == WORKERS
        assert all(stack.processes[w].poll() is None for w in stack.config.worker_names(service))

    played = story(stack, pool=1)
    played.seed_talent_pool()
    played.order()  # project.confirmed is on its way to six services

    admitted = write_outbox(
        stack,
        "training",
        [
            (
                "agent.admitted",
                {
                    "project_id": project,
                    "candidate_id": f"sx-{tag}-{i:05d}",
                    "cohort_id": f"scale-cohort-{tag}",
                    "name": f"扩容坐席{i:05d}",
                    "skills": ["presale"],
                    "shifts_available": ["morning", "night"],
                    "quiz_score": 80.0,
                    "simulation_score": 75.0,
                    "rank": i + 1,
                    "merchant_id": "m-scale",
                },
            )
            for i in range(ADMITTED)
        ],
    )
    findings = write_outbox(
        stack,
        "quality",
        [
            (
                "qa.finding",
                {
                    "project_id": qa_project,
                    "agent_id": f"qx-{tag}-{i:05d}",
                    "review_id": f"rv-{tag}-{i:05d}",
                    "problems": ["未使用欢迎语"],
                    "good_cases": [],
                },
            )
            for i in range(FINDINGS)
        ],
    )
    admitted_ids = [json.loads(b)["id"] for b in admitted]
    finding_ids = [json.loads(b)["id"] for b in findings]

    # kill -9 one worker of every service while its relays and consumers are busy with that backlog
    handled_at_kill = sql(
        stack, "complaints", "SELECT count(*) FROM project_agents WHERE project_id = :p", p=project
    )
    killed = [stack.config.worker_names(s)[1] for s in SERVICES]
    for name in killed:
        stack.kill(name, signal.SIGKILL)
    assert handled_at_kill < ADMITTED, "the backlog was gone before the kill: the test proves nothing"

    closed = stack.close_broker_connections("scale-out test: first cut")
    assert closed > 0, "no broker connection of the stack was found to close"
    publish_copies(stack, admitted[:ADMITTED_COPIES] + findings[:FINDING_COPIES])
    played.recruit()
    played.train()
    closed = stack.close_broker_connections("scale-out test: second cut")
    assert closed > 0, "no broker connection of the stack was found to close"
    for name in killed:  # what a supervisor does; they rejoin a flow still under way
        stack.spawn(name)
    played.schedule()
    played.surges()
    played.attrition()
    played.complaint()

    # --- quiescence ---------------------------------------------------------------------------------------
    def effects() -> dict[str, int]:
        counts = {
            s: sql(
                stack,
                s,
                f"SELECT count(*) FROM {table} WHERE project_id = :p",
                p=project,
            )
            for s, spec in ADMITTED_EFFECTS.items()
            if spec is not None
            for table, _key in [spec]
        }
        counts["training"] = sql(
            stack, "training", "SELECT count(*) FROM retrainings WHERE project_id = :p", p=qa_project
        )
        return counts

    expected = {s: ADMITTED for s, spec in ADMITTED_EFFECTS.items() if spec is not None}
    expected["training"] = FINDINGS
    last: dict[str, Any] = {}

    def quiet() -> bool:
        last["effects"] = effects()
        if last["effects"] != expected:
            return False
        last["outbox"] = pending_outbox(stack)
        last["queues"] = {q: n for q, n in queues(stack).items() if n}
        return not last["outbox"] and not last["queues"]

    try:
        wait_until(quiet, timeout=240, what="every effect and empty queues and outboxes")
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}: effects {last.get('effects')} (expected {expected}); pending outbox rows "
            f"{last.get('outbox')}; non-empty queues {last.get('queues')}; logs in {stack.log_dir}"
        ) from None

    # --- every effect exactly once ------------------------------------------------------------------------
    for service, spec in ADMITTED_EFFECTS.items():
        inbox = sql(stack, service, "SELECT count(*) FROM inbox WHERE event_id = ANY(:ids)", ids=admitted_ids)
        assert inbox == ADMITTED, f"{service}: {inbox} of {ADMITTED} agent.admitted in its inbox"
        if spec is not None:
            table, key = spec
            distinct = sql(
                stack,
                service,
                f"SELECT count(DISTINCT {key}) FROM {table} WHERE project_id = :p",
                p=project,
            )
            assert distinct == ADMITTED, f"{service}: {distinct} distinct agents in {table}, not {ADMITTED}"
    inbox = sql(stack, "training", "SELECT count(*) FROM inbox WHERE event_id = ANY(:ids)", ids=finding_ids)
    assert inbox == FINDINGS, f"training: {inbox} of {FINDINGS} qa.finding in its inbox"
    records = sql(stack, "training", "SELECT count(*) FROM retrainings WHERE project_id = :p", p=qa_project)
    agents = sql(
        stack,
        "training",
        "SELECT count(DISTINCT agent_id) FROM retrainings WHERE project_id = :p",
        p=qa_project,
    )
    assert (records, agents) == (FINDINGS, FINDINGS), f"training: {records} QA records for {agents} agents"
    attached = sql(
        stack,
        "training",
        "SELECT count(*) FROM retrainings r, json_array_elements(r.findings::json) f WHERE r.project_id = :p",
        p=qa_project,
    )
    assert attached == FINDINGS, f"training: {attached} findings attached for {FINDINGS} reviews"

    # the copies reached every consumer and were skipped there by the inbox
    copies = {
        **{s: set(admitted_ids[:ADMITTED_COPIES]) for s in ADMITTED_EFFECTS},
        "training": set(finding_ids[:FINDING_COPIES]),
    }
    for service, ids in copies.items():
        skipped = {
            line["message"].split()[2]
            for line in log_lines(stack, service)
            if line.get("message", "").startswith("duplicate event ")
        }
        assert ids <= skipped, (
            f"{service}: {len(ids - skipped)} of the {len(ids)} copies not seen as duplicates"
        )

    # --- the story, the dead letters, the processes ---------------------------------------------------------
    assert_seed_funnel(played)
    project_id = played.outcome.project_id
    assert vendor(stack, "recruitment").get(f"/api/v1/requisitions?project_id={project_id}")[1]["total"] == 1
    assert vendor(stack, "training").get(f"/api/v1/cohorts?project_id={project_id}")[1]["total"] == 1
    dead = {q: n for q, n in queues(stack).items() if q.endswith(".dlq") and n}
    assert dead == {}, f"messages in dead-letter queues: {dead}"
    exited = {n: p.returncode for n, p in stack.processes.items() if p.poll() is not None}
    assert exited == {}, f"processes that exited: {exited}; see {stack.log_dir}"

    # --- periodic jobs: never two runs of one job at once, across the three workers ----------------------
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for service in SERVICES:
        for line in log_lines(stack, service):
            if "job_started" in line:
                runs[line["job"]].append(line)
    assert {job.partition(":")[0] for job in runs} >= set(SERVICES) - {"billing", "quality"}, sorted(runs)
    skipped_total = 0
    for job, lines in runs.items():
        lines.sort(key=lambda line: line["job_started"])
        assert len(lines) >= 2, f"{job} ran {len(lines)} time(s): nothing to compare"
        for before, after in itertools.pairwise(lines):
            assert after["job_started"] >= before["job_ended"], (
                f"{job} ran twice at once: pid {before['pid']} from {before['job_started']} to "
                f"{before['job_ended']}, pid {after['pid']} from {after['job_started']} (monotonic)"
            )
        skipped_total += sum(line["skipped_before"] for line in lines)
    # the workers did reach for the same job at the same moment: the lock, not luck, kept the runs apart
    assert skipped_total > 0, f"no run was ever skipped for another worker's: {dict(runs).keys()}"
