"""The campaign's site and resources (现场与物资) and its lead times, from the seed's ratios (seed 000 §5–8).

Everything is sized on the busiest moment of the campaign (根据当天单班人员高峰值预备): the most agents
rostered at once, plus the reserve kept on site for absences (临时增加席位按照百分之十预留备用客服).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.scheduling.erlang import ceil_up


@dataclass(frozen=True)
class SiteRatios:
    """The seed's ratios; every one is a setting of the campaign."""

    area_m2_per_person: float = 3.0
    agents_per_network_admin: int = 100
    spare_pc_ratio: float = 0.10
    agents_per_floor_controller: int = 50
    reserve_ratio: float = 0.10
    bandwidth_min_mbps: int = 100
    bandwidth_max_mbps: int = 200
    pcs_per_generator: int = 30
    generator_kw: int = 15

    def problems(self) -> list[str]:
        out = []
        positive = (
            "area_m2_per_person", "agents_per_network_admin", "agents_per_floor_controller",
            "pcs_per_generator", "generator_kw", "bandwidth_min_mbps",
        )  # fmt: skip
        for name in positive:
            if getattr(self, name) <= 0:
                out.append(f"{name} must be positive")
        for name in ("spare_pc_ratio", "reserve_ratio"):
            if not 0 <= getattr(self, name) <= 1:
                out.append(f"{name} must be between 0 and 1")
        if self.bandwidth_max_mbps < self.bandwidth_min_mbps:
            out.append("bandwidth_max_mbps cannot be below bandwidth_min_mbps")
        return out


@dataclass(frozen=True)
class SiteLine:
    item: str
    quantity: int | str
    unit: str
    basis: str

    @property
    def item_zh(self) -> str:
        return ITEMS_ZH.get(self.item, self.item)


ITEMS_ZH = {
    "peak agents on the floor": "单班高峰客服",
    "reserve agents on site": "现场备用客服",
    "network administrators": "网管",
    "floor controllers": "现场管控",
    "floor area": "场地面积",
    "computers": "电脑",
    "network bandwidth": "网络带宽",
    "diesel generators": "柴油发电机",
}


def site_plan(peak_agents: int, ratios: SiteRatios = SiteRatios()) -> list[SiteLine]:
    """The resource table for ``peak_agents`` on the floor at the busiest moment."""
    reserve = ceil_up(peak_agents * ratios.reserve_ratio)
    agents = peak_agents + reserve
    admins = ceil_up(agents / ratios.agents_per_network_admin) if agents else 0
    controllers = ceil_up(agents / ratios.agents_per_floor_controller) if agents else 0
    people = agents + admins + controllers
    spare = ceil_up(agents * ratios.spare_pc_ratio)
    pcs = agents + spare
    generators = ceil_up(pcs / ratios.pcs_per_generator) if pcs else 0
    return [
        SiteLine("peak agents on the floor", peak_agents, "people", "the most agents rostered at once"),
        SiteLine("reserve agents on site", reserve, "people", f"{ratios.reserve_ratio:.0%} of the peak"),
        SiteLine(
            "network administrators", admins, "people", f"1 per {ratios.agents_per_network_admin} agents"
        ),
        SiteLine(
            "floor controllers", controllers, "people", f"1 per {ratios.agents_per_floor_controller} agents"
        ),
        SiteLine(
            "floor area",
            ceil_up(people * ratios.area_m2_per_person),
            "m²",
            f"{ratios.area_m2_per_person:g} m² per person, {people} people",
        ),
        SiteLine("computers", pcs, "PCs", f"one per agent and {ratios.spare_pc_ratio:.0%} spare ({spare})"),
        SiteLine(
            "network bandwidth",
            f"{ratios.bandwidth_min_mbps}–{ratios.bandwidth_max_mbps}",
            "Mbps",
            "no rate limit; more than one carrier",
        ),
        SiteLine(
            "diesel generators",
            generators,
            "units",
            f"{ratios.generator_kw} kW or more per {ratios.pcs_per_generator} PCs "
            f"({generators * ratios.generator_kw} kW in all)",
        ),
    ]


@dataclass(frozen=True)
class LeadTimes:
    """Outsourcing is arranged 1–2 months ahead (提前1-2个月对接), after a pilot of a few seats."""

    earliest_days: int = 60
    latest_days: int = 30


@dataclass(frozen=True)
class PlanWarning:
    rule: str
    severity: str
    message: str


def lead_time_warnings(
    first_day: dt.date, today: dt.date, *, has_pilot: bool, lead: LeadTimes = LeadTimes()
) -> list[PlanWarning]:
    """What the seed's lead times say of a campaign starting on ``first_day`` planned ``today``."""
    out = []
    ahead = (first_day - today).days
    if ahead < lead.latest_days:
        out.append(
            PlanWarning(
                "lead-time",
                "high",
                f"The campaign starts in {ahead} days; outsourcing is arranged {lead.latest_days // 30}–"
                f"{lead.earliest_days // 30} months ahead; recruiting and training may not finish in time.",
            )
        )
    elif ahead < lead.earliest_days:
        out.append(
            PlanWarning(
                "lead-time",
                "medium",
                f"The campaign starts in {ahead} days; {lead.earliest_days} days ahead is the safer lead "
                "time for recruiting, training and a pilot.",
            )
        )
    if not has_pilot:
        out.append(
            PlanWarning(
                "no-pilot",
                "medium",
                "The project has no pilot yet: run a few seats first (a pilot phase, or a roster before the "
                "campaign) to check the shop's volumes and the agents' quality before scaling up.",
            )
        )
    return out
