"""Agents needed per interval (人力需求): Erlang C, and the seeds' simple rule, as plain functions.

Erlang C treats an interval's contacts as a queue with ``N`` servers: traffic ``A = contacts × AHT ÷
interval`` (Erlangs), the chance a contact waits ``P(wait) = N·B ÷ (N − A(1 − B))`` with ``B`` the Erlang B
loss, and the service level ``1 − P(wait)·e^{−(N − A)·threshold ÷ AHT}``. The smallest ``N`` meeting the
target is the raw requirement; an occupancy cap raises it to ``A ÷ cap`` when the agents would otherwise be
busier than that; shrinkage (breaks, meetings, training, absence) divides it by ``1 − shrinkage``.

Chat agents serve several conversations at once: with a concurrency of ``c`` each agent is ``c`` servers,
so the agents are ``ceil(N ÷ c)``. The figures agree with pyworkforce's ``ErlangC`` (a test uses it as an
oracle): 200 contacts in 30 minutes at 180 s AHT, 80% in 20 s → 20 Erlangs, 24 agents (SL 80.9%), 35
with 30% shrinkage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: seed 000 §4.3: one agent handles about 100 consultations an hour
SIMPLE_PER_HOUR = 100


@dataclass(frozen=True)
class ServiceTarget:
    """What the order promises (服务水平): ``level`` of contacts answered within ``threshold_seconds``."""

    level: float = 0.8
    threshold_seconds: float = 20.0
    aht_seconds: float = 180.0
    max_occupancy: float = 1.0
    shrinkage: float = 0.0
    concurrency: int = 1

    def problems(self) -> list[str]:
        out = []
        if not 0 < self.level < 1:
            out.append(f"the service level must be between 0 and 1 (exclusive), got {self.level}")
        if self.threshold_seconds <= 0:
            out.append(f"the answer threshold must be positive, got {self.threshold_seconds} s")
        if self.aht_seconds <= 0:
            out.append(f"the average handling time must be positive, got {self.aht_seconds} s")
        if not 0 < self.max_occupancy <= 1:
            out.append(f"the occupancy cap must be more than 0 and at most 1, got {self.max_occupancy}")
        if not 0 <= self.shrinkage < 1:
            out.append(f"shrinkage must be at least 0 and below 1, got {self.shrinkage}")
        if self.concurrency < 1:
            out.append(f"chat concurrency must be at least 1, got {self.concurrency}")
        return out


@dataclass(frozen=True)
class Staffing:
    """One interval's requirement: ``agents`` to roster (after shrinkage), ``raw`` on the floor at once."""

    traffic: float
    raw: int
    agents: int
    service_level: float
    occupancy: float
    wait_probability: float


NOBODY = Staffing(0.0, 0, 0, 1.0, 0.0, 0.0)


def ceil_up(value: float) -> int:
    """Round up a count computed in floating point, ignoring the last bits' noise."""
    # 7 ÷ 0.7 is 10.000000000000002 in binary floating point: 10 agents, not 11
    return math.ceil(round(value, 9))


def traffic(contacts: float, interval_seconds: float, aht_seconds: float) -> float:
    """Offered load in Erlangs: 200 contacts × 180 s ÷ 1,800 s = 20."""
    return contacts * aht_seconds / interval_seconds


def wait_probability(servers: int, load: float) -> float:
    """Erlang C: the chance a contact has to wait with ``servers`` (1 when they cannot keep up)."""
    if servers <= load:
        return 1.0
    inverse_b = 1.0
    for n in range(1, servers + 1):
        inverse_b = 1.0 + inverse_b * n / load
    b = 1.0 / inverse_b
    return servers * b / (servers - load * (1.0 - b))


def service_level(servers: int, load: float, threshold_seconds: float, aht_seconds: float) -> float:
    """The share of contacts answered within the threshold."""
    if load <= 0:
        return 1.0
    if servers <= load:
        return 0.0
    waiting = wait_probability(servers, load)
    return max(0.0, 1.0 - waiting * math.exp(-(servers - load) * threshold_seconds / aht_seconds))


def required(contacts: float, interval_seconds: float, target: ServiceTarget) -> Staffing:
    """The agents an interval needs to answer ``target.level`` of its contacts within the threshold."""
    if contacts <= 0:
        return NOBODY
    load = traffic(contacts, interval_seconds, target.aht_seconds)
    servers = math.floor(load) + 1
    level = service_level(servers, load, target.threshold_seconds, target.aht_seconds)
    while level < target.level:
        servers += 1
        level = service_level(servers, load, target.threshold_seconds, target.aht_seconds)
    if load / servers > target.max_occupancy:
        servers = ceil_up(load / target.max_occupancy)
        level = service_level(servers, load, target.threshold_seconds, target.aht_seconds)
    raw = math.ceil(servers / target.concurrency)
    return Staffing(
        traffic=load,
        raw=raw,
        agents=ceil_up(raw / (1.0 - target.shrinkage)),
        service_level=level,
        occupancy=load / servers,
        wait_probability=wait_probability(servers, load),
    )


def simple_required(
    contacts: float, interval_seconds: float, per_hour: float = SIMPLE_PER_HOUR, shrinkage: float = 0.0
) -> int:
    """The seed's rule of thumb: one agent answers ``per_hour`` consultations an hour (50 a half hour)."""
    if contacts <= 0:
        return 0
    raw = ceil_up(contacts / (per_hour * interval_seconds / 3600))
    return ceil_up(raw / (1.0 - shrinkage))
