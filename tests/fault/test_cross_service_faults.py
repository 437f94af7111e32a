"""Faults across the running product: killed workers, dropped connections, duplicates, poison, lost database.

One stack (six gunicorn web servers and six workers on PostgreSQL + RabbitMQ) serves the module; each story
makes its own project and talent pool, so the tests don't see each other's data.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pika
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from devtools.demo import Story
from devtools.stack import Api, Stack
from shared.auth import mint_token
from shared.db import Database
from shared.events import topology
from shared.events.envelope import build_envelope
from shared.events.outbox import outbox
from tests.e2e.conftest import build_stack, signing_key, urls
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(
    make_database: Callable[[str], str],
    amqp_url: str,
    broker_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    running = build_stack(make_database, amqp_url, broker_prefix, tmp_path_factory.mktemp("faults"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


def story(stack: Stack, pool: int) -> Story:
    return Story(urls(stack), signing_key(stack), say=lambda _line: None, timeout=90, pool=pool)


def vendor(stack: Stack, service: str) -> Api:
    return Api(stack.config.base_url(service), mint_token(signing_key(stack), "vendor"))


def queue_depths(stack: Stack) -> dict[str, int]:
    """Ready + unacknowledged messages of every queue of this stack but the parked and the audited."""
    return {n: c for n, c in stack.queue_depths().items() if not n.endswith((".dlq", ".audit"))}


def publish(stack: Stack, body: str, routing_key: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(stack.config.amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            topology.exchange_name(stack.config.broker_prefix),
            routing_key,
            body.encode(),
            pika.BasicProperties(message_id=json.loads(body).get("id") if body.startswith("{") else None),
            mandatory=True,
        )
    finally:
        connection.close()


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BROKER_PREFIX": stack.config.broker_prefix, "AMQP_URL": stack.config.amqp_url}
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def assert_seed_funnel(played: Story) -> None:
    outcome = played.outcome
    assert outcome.failures == []
    assert outcome.requisition["matched"] == 30
    assert (outcome.cohort["admitted"], outcome.cohort["waitlisted"]) == (20, 4)
    assert (outcome.pool["active"], outcome.pool["reserve"]) == (15, 5)


def test_worker_killed_mid_flow_and_restarted_loses_and_doubles_nothing(stack: Stack) -> None:
    played = story(stack, pool=1)
    played.seed_talent_pool()
    played.order()
    stack.kill("recruitment:worker", signal.SIGKILL)  # project.confirmed waits in its queue meanwhile
    stack.spawn("recruitment:worker")
    played.recruit()
    played.train()
    stack.kill("training:worker", signal.SIGKILL)  # its relay may be in the middle of 20 agent.admitted
    stack.spawn("training:worker")
    played.schedule()
    played.surges()
    played.attrition()
    played.complaint()
    assert_seed_funnel(played)
    project_id = played.outcome.project_id
    assert vendor(stack, "recruitment").get(f"/api/v1/requisitions?project_id={project_id}")[1]["total"] == 1
    assert vendor(stack, "training").get(f"/api/v1/cohorts?project_id={project_id}")[1]["total"] == 1
    pool = vendor(stack, "scheduling").get(f"/api/v1/projects/{project_id}/pool?include_departed=true")[1]
    assert pool["total"] == 20


def test_broker_closing_every_connection_mid_flow_is_survived(stack: Stack) -> None:
    played = story(stack, pool=2)
    played.seed_talent_pool()
    played.order()
    played.recruit()
    closed = subprocess.run(
        ["rabbitmqctl", "close_all_connections", "fault test: mid-flow"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert closed.returncode == 0, closed.stderr
    played.train()  # its 20 agent.admitted travel while every worker reconnects
    closed = subprocess.run(
        ["rabbitmqctl", "close_all_connections", "fault test: again"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert closed.returncode == 0, closed.stderr
    played.schedule()
    played.attrition()
    assert_seed_funnel(played)


def test_the_same_event_published_twice_is_processed_once_everywhere(stack: Stack) -> None:
    played = story(stack, pool=3)
    played.seed_talent_pool()
    played.order()
    played.recruit()
    played.train()
    played.schedule()
    project_id = played.outcome.project_id
    onboarding = Database(stack.config.database_urls["onboarding"])
    training = Database(stack.config.database_urls["training"])
    try:
        with onboarding.session() as session:
            [confirmed] = session.scalars(
                select(outbox.c.payload).where(
                    outbox.c.event_type == "project.confirmed", outbox.c.payload.contains(project_id)
                )
            ).all()
        with training.session() as session:
            admitted = session.scalars(
                select(outbox.c.payload).where(
                    outbox.c.event_type == "agent.admitted", outbox.c.payload.contains(project_id)
                )
            ).all()
    finally:
        onboarding.dispose()
        training.dispose()
    assert len(admitted) == 20
    publish(stack, confirmed, "project.confirmed")
    for payload in admitted:
        publish(stack, payload, "agent.admitted")
    wait_until(lambda: not any(queue_depths(stack).values()), timeout=60, what="every queue drained")
    assert vendor(stack, "recruitment").get(f"/api/v1/requisitions?project_id={project_id}")[1]["total"] == 1
    cohorts = vendor(stack, "training").get(f"/api/v1/cohorts?project_id={project_id}")[1]
    assert cohorts["total"] == 1
    pool = vendor(stack, "scheduling").get(f"/api/v1/projects/{project_id}/pool")[1]
    assert (pool["active"], pool["reserve"], pool["total"]) == (15, 5, 20)


def test_poison_message_is_parked_and_listed(stack: Stack) -> None:
    poison = build_envelope("project.closed", {"project_id": "p-poison"}).to_dict()
    del poison["data"]["project_id"]  # what no handler can ever accept
    body = json.dumps(poison)
    publish(stack, body, "project.closed")
    for service in ("recruitment", "training", "scheduling", "complaints", "billing"):
        wait_until(
            lambda service=service: poison["id"] in cli(stack, "dlq", "list", service).stdout,
            timeout=60,
            what=f"the poison message in {service}'s dead-letter queue",
        )
    listed = cli(stack, "dlq", "list", "training", "--json")
    letter = next(json.loads(line) for line in listed.stdout.splitlines() if poison["id"] in line)
    assert "InvalidEventData" in letter["error"]


def test_database_outage_retries_then_parks_and_replay_after_the_fix_delivers(
    stack: Stack, postgres_admin: Callable[[str], None]
) -> None:
    played = story(stack, pool=4)
    played.seed_talent_pool()
    played.order()
    played.recruit()
    played.train()
    project_id = played.outcome.project_id
    trainer = Api(stack.config.base_url("training"), mint_token(signing_key(stack), "trainer"))
    cohort_id = trainer.get(f"/api/v1/cohorts?project_id={project_id}")[1]["items"][0]["id"]
    trainees = trainer.get(f"/api/v1/cohorts/{cohort_id}")[1]["trainees"]
    agent_id = next(t["candidate_id"] for t in trainees if t["status"] == "admitted")
    training_db = make_url(stack.config.database_urls["training"]).database
    upheld = build_envelope(
        "complaint.upheld",
        {
            "complaint_id": "c-outage",
            "number": "TS20261127-9999",
            "project_id": project_id,
            "agent_id": agent_id,
            "penalty": "50.00",
        },
    )
    onboarding = vendor(stack, "onboarding")
    postgres_admin(f'ALTER DATABASE "{training_db}" ALLOW_CONNECTIONS false')
    postgres_admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{training_db}'")
    try:
        publish(stack, upheld.to_json(), "complaint.upheld")
        # training retries (MAX_DELIVERY_ATTEMPTS=4) and parks it; the other services keep serving
        wait_until(
            lambda: upheld.id in cli(stack, "dlq", "list", "training").stdout,
            timeout=60,
            what="parked in training",
        )
        assert onboarding.get(f"/api/v1/projects/{project_id}")[0] == 200
        assert vendor(stack, "scheduling").get(f"/api/v1/projects/{project_id}/pool")[0] == 200
        status, problem, _ = vendor(stack, "training").get("/readyz")
        assert status == 503 and problem["checks"]["database"] != "ok"
        letter = next(
            json.loads(line)
            for line in cli(stack, "dlq", "list", "training", "--json").stdout.splitlines()
            if upheld.id in line
        )
        assert letter["attempts"] == 4
    finally:
        postgres_admin(f'ALTER DATABASE "{training_db}" ALLOW_CONNECTIONS true')
    replayed = cli(stack, "dlq", "replay", "training", "--id", upheld.id)
    assert replayed.returncode == 0, replayed.stderr
    records = wait_until(
        lambda: trainer.get(f"/api/v1/retrainings?agent_id={agent_id}")[1].get("items"),
        timeout=60,
        what="the retraining record after the replay",
    )
    assert [r["complaint_id"] for r in records] == ["c-outage"]
