"""Seed 004's story through the public HTTP APIs only (``make demo`` / ``yunkefu demo``).

A Tmall shop orders 10 pre-sales seats for Double 11 and the project travels through all six services over
RabbitMQ: order → checklist → FAQ and materials → submitted → confirmed → 30 matched → a cohort of 30 →
courseware → assessments → 20 admitted → 15 active + 5 reserve → a 14-day roster → surges (+30% with 3
days' notice accepted, +60% with 5 days' notice refused) → a departure replaced by a reserve → a numbered
complaint escalated and upheld with a penalty → timesheets and sales → a payroll run with the four pay
plans → approved → CSV.

Every step prints one line; waiting for other services' events polls with a timeout (never a fixed sleep).
Any outcome that differs from what the seed prescribes is collected and makes the run fail.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from devtools.stack import Api, PortsBusy, Stack, StackConfig, delete_broker_objects, generate_stack_keys
from shared.auth import SigningKey, mint_token
from shared.workdays import add_workdays, today_shanghai

SEATS = 10
MERCHANT_ID = "m-yunshang-tmall"
FAQ_ANSWERS = {
    "stock": "页面能拍的都有现货, 48 小时内发货",
    "max_bargain": "最多优惠 5%, 需主管同意",
    "exchange_shipping": "非质量问题换货, 店铺承担寄回运费",
    "quality_discount": "可先优惠处理, 最多 20 元",
    "invoice": "电子普通发票, 确认收货后 3 天内开具, 补寄运费店铺承担",
    "receipt": "有收据, 可与发票一同寄出",
    "packing_list": "每单附发货清单",
    "promises": "7 天无理由退换, 运费险",
    "courier_change": "发货后不可更换快递",
    "review_cashback": "不做好评返现",
    "gifts": "满 299 送收纳袋, 不可多送",
    "welcome": "亲, 欢迎光临云裳女装旗舰店, 双 11 全场满 300 减 40 哦~",
    "waiting": "亲, 咨询人数较多, 请稍等, 马上为您解答~",
    "closing": "感谢亲的光临, 祝您购物愉快, 有问题随时找我们哦~",
    "emergency": "系统繁忙, 订单信息稍有延迟, 请亲耐心等待, 已为您登记",
    "arrival_time": "江浙沪次日达, 其他地区 2-4 天送达",
}


class DemoFailure(AssertionError):
    pass


@dataclass
class Outcome:
    """What the story produced (the e2e test asserts on it)."""

    project_id: str = ""
    requisition: dict[str, Any] = field(default_factory=dict)
    cohort: dict[str, Any] = field(default_factory=dict)
    pool: dict[str, Any] = field(default_factory=dict)
    roster: dict[str, Any] = field(default_factory=dict)
    surge_accepted: dict[str, Any] = field(default_factory=dict)
    surge_refused: dict[str, Any] = field(default_factory=dict)
    departure: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    complaint: dict[str, Any] = field(default_factory=dict)
    kpi: dict[str, Any] = field(default_factory=dict)
    weekly_review: dict[str, Any] = field(default_factory=dict)
    improvement: dict[str, Any] = field(default_factory=dict)
    payroll: dict[str, Any] = field(default_factory=dict)
    payslips: list[dict[str, Any]] = field(default_factory=list)
    export_csv: str = ""
    agents: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


class Story:
    def __init__(
        self,
        base_urls: dict[str, str],
        signing_key: SigningKey,
        *,
        say: Callable[[str], None] = print,
        timeout: float = 60.0,
        today: dt.date | None = None,
        pool: int = 9,
    ) -> None:
        self.urls = base_urls
        self.signing_key = signing_key
        self.say = say
        self.timeout = timeout
        self.today = today or today_shanghai()
        self.outcome = Outcome()
        self._step = 0
        self.event_wait = 0.0  # seconds spent waiting for other services' events
        self.waits: dict[str, float] = {}  # the same, per thing waited for
        #: varies the seeded candidates' phone numbers so several stories can share one talent pool
        self.pool = pool

    # --- helpers -------------------------------------------------------------------------------------

    def api(self, service: str, role: str, **claims: str) -> Api:
        return Api(self.urls[service], mint_token(self.signing_key, role, **claims))

    def merchant(self, service: str) -> Api:
        return self.api(service, "merchant", merchant_id=MERCHANT_ID, sub="u-merchant-wang")

    def step(self, text: str) -> None:
        self._step += 1
        self.say(f"[{self._step:2}] {text}")

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            self.outcome.failures.append(what)
            self.say(f"     ✗ {what}")

    def ok(self, response: tuple[int, Any, dict[str, str]], *statuses: int) -> Any:
        status, body, _ = response
        if status not in (statuses or (200, 201)):
            raise DemoFailure(f"HTTP {status}: {body}")
        return body

    def wait(self, probe: Callable[[], Any], what: str) -> Any:
        started = time.monotonic()
        deadline = started + self.timeout
        while True:
            value = probe()
            if value:
                self.event_wait += time.monotonic() - started
                self.waits[what] = self.waits.get(what, 0.0) + time.monotonic() - started
                return value
            if time.monotonic() > deadline:
                raise DemoFailure(f"timed out after {self.timeout:.0f}s waiting for {what}")
            time.sleep(0.05)

    # --- the story -----------------------------------------------------------------------------------

    def run(self) -> Outcome:
        self.seed_talent_pool()
        self.order()
        self.recruit()
        self.train()
        self.schedule()
        self.surges()
        self.attrition()
        self.plan_campaign()
        self.complaint()
        self.inspect()
        self.pay()
        return self.outcome

    def seed_talent_pool(self) -> None:
        vendor = self.api("recruitment", "vendor")
        created = 0
        for i in range(36):
            trained = i < 33  # three have not passed basic training: never eligible
            body = {
                "name": f"客服{i + 1:02d}",
                "phone": f"13{self.pool}{i + 1:08d}",
                "skills": ["presale"] if i < 34 else ["aftersale"],
                "categories": ["apparel"],
                "platforms": ["Tmall"],
                "basic_training_passed": trained,
                "basic_score": str(70 + (i * 7) % 30),
                "shifts_available": ["morning", "afternoon", "night"],
                "city": "杭州",
                "experience_months": (i * 5) % 36,
            }
            status, _, _ = vendor.post("/api/v1/candidates", body)
            created += status == 201
        self.step(f"talent pool seeded: {created} candidates (33 passed basic training, 2 after-sales only)")

    def order(self) -> None:
        merchant = self.merchant("onboarding")
        vendor = self.api("onboarding", "vendor")
        draft = self.ok(
            merchant.post(
                "/api/v1/projects",
                {
                    "merchant": {
                        "company_name": "云裳女装天猫旗舰店",
                        "contact_name": "王店长",
                        "contact_phone": "13800138000",
                        "liaison": "李运营",
                    },
                    "service": {
                        "type": "presale",
                        "hours": {"start": "09:00", "end": "17:00"},
                        "seats": SEATS,
                        "platform": "Tmall",
                    },
                    "metrics": {
                        "daily_consultations": 2000,
                        "first_response_seconds": 15,
                        "avg_response_seconds": 30,
                        "conversion_rate": "35",
                        "avg_order_value": "268.00",
                        "satisfaction_rate": "98",
                    },
                    "training": {
                        "trainer": "vendor",
                        "assessor": "merchant",
                        "requirements": "双11 活动规则必考",
                    },
                    "qa": {"merchant_standard": False},
                    "notes": "双11 大促售前客服",
                },
            ),
            201,
        )
        project_id = draft["id"]
        self.outcome.project_id = project_id
        self.step(
            f"a Tmall shop orders {SEATS} pre-sales seats for Double 11: project {project_id[:8]} (draft)"
        )

        checklist = self.ok(merchant.get(f"/api/v1/projects/{project_id}/checklist"))
        missing = [s["key"] for s in checklist["sections"] if not s["complete"]]
        self.step(
            f"checklist: missing {', '.join(missing)}; FAQ unanswered: {len(checklist['faq']['unanswered'])}"
        )
        self.expect(set(missing) == {"materials", "go_live"}, f"the checklist misses {missing}")

        self.ok(
            merchant.put(
                f"/api/v1/projects/{project_id}/faq",
                {
                    "standard": [{"key": k, "answer": v} for k, v in FAQ_ANSWERS.items()],
                    "custom": [{"question": "双11 定金可以退吗?", "answer": "定金不退, 尾款前可取消"}],
                },
            )
        )
        self.ok(
            merchant.upload(
                f"/api/v1/projects/{project_id}/materials",
                "双11活动规则.txt",
                "双11 活动: 满 300 减 40, 定金膨胀 50 抵 100。\n".encode(),
            )
        )
        go_live = add_workdays(self.today, 5)
        headers = merchant.get(f"/api/v1/projects/{project_id}")[2]
        self.ok(
            merchant.patch(
                f"/api/v1/projects/{project_id}",
                {"go_live_date": go_live.isoformat(), "materials": {"complete": True}},
                headers={"If-Match": headers.get("ETag", "*")},
            )
        )
        self.step(f"FAQ answered (16 + 1 own), materials uploaded, go-live {go_live} (5 working days away)")

        submitted = self.ok(merchant.post(f"/api/v1/projects/{project_id}/submit"))
        self.expect(submitted["status"] == "submitted", "the project is submitted")
        confirmed = self.ok(vendor.post(f"/api/v1/projects/{project_id}/confirm"))
        self.expect(confirmed["status"] == "confirmed", "the vendor confirmed the project")
        self.step("submitted by the merchant, confirmed by the vendor → project.confirmed")

    def recruit(self) -> None:
        trainer = self.api("recruitment", "trainer")
        project_id = self.outcome.project_id

        def requisition() -> dict[str, Any] | None:
            _, body, _ = trainer.get(f"/api/v1/requisitions?project_id={project_id}")
            items = body.get("items", []) if isinstance(body, dict) else []
            return items[0] if items and items[0]["matched"] >= 30 else None

        req = self.wait(requisition, "the requisition's 30 matches")
        self.outcome.requisition = req
        self.step(
            f"recruitment: requisition target {req['target']} (1:3), {req['matched']} matched, "
            f"due {req['due_date']} (3 working days)"
        )
        self.expect(req["target"] == 30 and req["matched"] == 30, "30 candidates matched for 10 seats")

    def train(self) -> None:
        project_id = self.outcome.project_id
        trainer = self.api("training", "trainer", sub="u-trainer-zhao")
        merchant = self.merchant("training")

        def cohort() -> dict[str, Any] | None:
            _, body, _ = trainer.get(f"/api/v1/cohorts?project_id={project_id}")
            items = body.get("items", []) if isinstance(body, dict) else []
            if not items:
                return None
            detail = trainer.get(f"/api/v1/cohorts/{items[0]['id']}")[1]
            return detail if len(detail.get("trainees", [])) >= 30 else None

        group = self.wait(cohort, "a cohort of 30 trainees")
        cohort_id = group["id"]
        self.step(
            f"training: cohort {cohort_id[:8]} of {len(group['trainees'])} trainees, "
            f"target {group['target']} (1:2)"
        )
        self.ok(
            trainer.post(
                f"/api/v1/cohorts/{cohort_id}/courseware",
                {
                    "title": "双11 售前话术与活动规则",
                    "topics": ["project", "business", "scripts", "faq", "qa"],
                    "url": "https://kb.example.com/yunshang/double11",
                },
            ),
            201,
        )
        self.ok(merchant.post(f"/api/v1/cohorts/{cohort_id}/courseware/confirm"))
        self.ok(trainer.post(f"/api/v1/cohorts/{cohort_id}/start"))
        self.step("courseware built by the trainer and confirmed by the merchant; training started")

        trainees = sorted(group["trainees"], key=lambda t: t["candidate_id"])
        rows, verdicts = [], []
        for i, trainee in enumerate(trainees):
            passes = i < 24  # 24 of 30 pass: 20 admitted, 4 waitlisted
            rows.append(
                {
                    "candidate_id": trainee["candidate_id"],
                    "quiz_score": 99 - (i % 10) if passes else 70,
                    "simulation_score": 90 - (i % 5) if passes else 75,
                    "trainer_passed": passes,
                }
            )
            verdicts.append({"candidate_id": trainee["candidate_id"], "merchant_passed": passes})
        self.ok(trainer.post(f"/api/v1/cohorts/{cohort_id}/assessments", {"assessments": rows}))
        self.ok(merchant.post(f"/api/v1/cohorts/{cohort_id}/assessments", {"assessments": verdicts}))
        done = self.ok(trainer.post(f"/api/v1/cohorts/{cohort_id}/complete"))
        progress = self.ok(trainer.get(f"/api/v1/cohorts/{cohort_id}/progress"))
        self.outcome.cohort = progress
        self.step(
            f"assessed by trainer and merchant: {progress['passed']} passed → {progress['admitted']} "
            f"admitted, {progress['waitlisted']} waitlisted (cohort {done['status']})"
        )
        self.expect(progress["admitted"] == 20 and progress["waitlisted"] == 4, "20 admitted, 4 waitlisted")

    def schedule(self) -> None:
        project_id = self.outcome.project_id
        expert = self.api("scheduling", "vendor")

        def pool() -> dict[str, Any] | None:
            body = expert.get(f"/api/v1/projects/{project_id}/pool?per_page=100")[1]
            return (
                body
                if isinstance(body, dict) and body.get("active", 0) + body.get("reserve", 0) >= 20
                else None
            )

        found = self.wait(pool, "20 admitted agents in the scheduling pool")
        self.outcome.pool = found
        self.outcome.agents = {a["agent_id"]: a["role"] for a in found["items"]}
        self.step(
            f"scheduling: pool of {found['active']} active + {found['reserve']} reserve (1:1.5 per seat)"
        )
        self.expect((found["active"], found["reserve"]) == (15, 5), "15 active + 5 reserve")

        start = self.today
        roster = self.ok(
            expert.post(
                f"/api/v1/projects/{project_id}/roster",
                {
                    "from": start.isoformat(),
                    "to": (start + dt.timedelta(days=13)).isoformat(),
                },
            ),
            201,
        )
        self.outcome.roster = roster
        self.step(
            f"a 14-day roster: {roster['assigned']} of {roster['needed']} agent-shifts "
            f"({roster['coverage_pct']}%), {len(roster['uncovered'])} gaps, published"
        )
        self.expect(roster["assigned"] == roster["needed"], "the 14-day roster covers every shift")

    def surges(self) -> None:
        project_id = self.outcome.project_id
        merchant = self.merchant("scheduling")
        start = self.today + dt.timedelta(days=3)
        status, accepted, _ = merchant.post(
            f"/api/v1/projects/{project_id}/surges",
            {
                "start_date": start.isoformat(),
                "end_date": (start + dt.timedelta(days=1)).isoformat(),
                "increase_pct": 30,
            },
        )
        self.outcome.surge_accepted = accepted
        self.step(
            f"+30% surge with 3 days' notice: HTTP {status}, {accepted.get('extra_seats')} extra seats, "
            f"{accepted.get('covered')} covered by reserves, {accepted.get('uncovered')} uncovered"
        )
        self.expect(
            status == 201 and accepted.get("uncovered") == 0, "the +30% surge is accepted and covered"
        )
        late = self.today + dt.timedelta(days=5)
        status, refused, _ = merchant.post(
            f"/api/v1/projects/{project_id}/surges",
            {
                "start_date": late.isoformat(),
                "end_date": (late + dt.timedelta(days=1)).isoformat(),
                "increase_pct": 60,
            },
        )
        self.outcome.surge_refused = refused
        self.step(f"+60% surge with 5 days' notice: HTTP {status} — {refused.get('detail', '')}")
        self.expect(status == 422, "the +60% surge with 5 days' notice is refused")

    def attrition(self) -> None:
        project_id = self.outcome.project_id
        expert = self.api("scheduling", "vendor")
        leaving = next(a for a in self.outcome.pool["items"] if a["role"] == "active")
        result = self.ok(
            expert.post(
                f"/api/v1/agents/{leaving['agent_id']}/departure",
                {
                    "project_id": project_id,
                    "date": (self.today + dt.timedelta(days=1)).isoformat(),
                    "reason": "个人原因离职",
                },
            )
        )
        self.outcome.departure = result
        replacement = result["departures"][0]["replacement_id"]
        self.step(
            f"{leaving['name']} departs tomorrow; reserve {self._name(replacement)} takes over "
            f"{sum(len(t['shifts']) for t in result['departures'][0]['takeovers'])} shifts"
        )
        self.expect(
            self.outcome.agents.get(replacement) == "reserve", "a reserve agent replaces the departed one"
        )

    def plan_campaign(self) -> None:
        """Workforce planning for a promotion 45 days out: last year's pre-sales consultations, the
        campaign's phases, a plan (Erlang C per half-hour, shifts that follow the demand), published."""
        project_id = self.outcome.project_id
        expert = self.api("scheduling", "vendor")
        festival = self.today + dt.timedelta(days=45)
        last_year = festival - dt.timedelta(days=365)
        rows = [
            {
                "date": (last_year + dt.timedelta(days=offset)).isoformat(),
                "channel": "presale",
                "consultations": 1500 if offset == 0 else 600,
            }
            for offset in range(-2, 3)
        ]
        self.ok(expert.post(f"/api/v1/projects/{project_id}/demand-history", {"rows": rows}))
        day = dt.timedelta(days=1)
        campaign = self.ok(
            expert.post(
                f"/api/v1/projects/{project_id}/campaigns",
                {
                    "name": "大促演示",
                    "festival_day": festival.isoformat(),
                    "last_year_festival_day": last_year.isoformat(),
                    "phases": [
                        {
                            "name": "warmup",
                            "from": (festival - 2 * day).isoformat(),
                            "to": (festival - day).isoformat(),
                        },
                        {"name": "festival", "from": festival.isoformat(), "to": festival.isoformat()},
                        {
                            "name": "aftersales",
                            "from": (festival + day).isoformat(),
                            "to": (festival + 2 * day).isoformat(),
                        },
                    ],
                    "growth": 1.2,
                    "bot_share": {"presale": 0.2},
                    "hours": {"festival": "00:00-24:00"},
                },
            ),
            201,
        )
        plan = self.ok(
            expert.post(f"/api/v1/projects/{project_id}/campaigns/{campaign['id']}/plans", {"publish": True}),
            201,
        )
        self.outcome.plan = plan
        coverage = plan["summary"]["coverage"]
        greedy = plan["summary"]["compared"]["greedy"]
        self.step(
            f"workforce plan for a promotion on {festival}: {plan['required_agents']} agents needed, "
            f"{plan['available_agents']} in the pool, peak {plan['peak_agents']} on the floor; coverage "
            f"{coverage['coverage_pct']}% (greedy baseline {greedy['coverage_pct']}%), published"
        )
        self.expect(
            plan["status"] == "published" and coverage["coverage_pct"] >= greedy["coverage_pct"],
            "the published plan covers at least what the greedy baseline does",
        )

    def _name(self, agent_id: str | None) -> str:
        for agent in self.outcome.pool.get("items", []):
            if agent["agent_id"] == agent_id:
                return str(agent["name"])
        return str(agent_id)

    def complaint(self) -> None:
        project_id = self.outcome.project_id
        vendor = self.api("complaints", "vendor", sub="u-pm-liu")
        supervisor = self.api("complaints", "supervisor", sub="sup-chen")
        self.ok(
            vendor.put(
                f"/api/v1/projects/{project_id}/staff",
                {
                    "supervisors": [{"user_id": "sup-chen", "name": "陈主管"}],
                    "managers": [{"user_id": "mgr-zhou", "name": "周经理"}],
                },
            )
        )
        agent_id = self.complained_about()
        body = {
            "project_id": project_id,
            "channel": "chat",
            "category": "delivery",
            "about_staff": False,
            "agent_id": agent_id,
            "customer_ref": "tb-20261111-8812",
            "severity": "high",
            "description": "买家称客服承诺 48 小时发货, 三天仍未发货",
        }

        def intake() -> dict[str, Any] | None:
            # 422 until complaints has heard of the project's agents (agent.admitted); nothing is kept then
            status, created, _ = vendor.post("/api/v1/complaints", body)
            return created if status == 201 else None

        created = self.wait(intake, "complaints to know the project's agents")
        number = created["number"]
        self.step(f"complaint {number} recorded at the {created['level']} level, due {created['due_at']}")
        self.expect(created["level"] == "agent", "a delivery complaint starts at the agent level")
        escalated = self.ok(
            vendor.post(
                f"/api/v1/complaints/{created['id']}/escalate",
                {
                    "reason": "客服无法解决, 需协调仓库",
                },
            )
        )
        self.step(f"escalated to the {escalated['level']} ({escalated['assignee']})")
        self.expect(escalated["level"] == "supervisor", "escalated to the project supervisor")
        resolved = self.ok(
            supervisor.post(
                f"/api/v1/complaints/{created['id']}/resolve",
                {
                    "resolution": "经调查客服错误承诺发货时间, 已向买家道歉并补偿优惠券",
                    "agent_at_fault": True,
                    "penalty": "200.00",
                },
            )
        )
        self.outcome.complaint = resolved
        self.step(
            f"upheld by the supervisor: {self._name(agent_id)} at fault, "
            f"penalty {resolved.get('penalty')} CNY"
        )
        self.expect(resolved["status"] == "resolved", "the complaint is resolved")

    def complained_about(self) -> str:
        """The second active agent (the first one departed)."""
        actives = [a["agent_id"] for a in self.outcome.pool["items"] if a["role"] == "active"]
        return actives[1]

    def inspect(self) -> None:
        """Quality inspection: the day's figures and chats in, the machine's flags, a review, the KPI."""
        project_id = self.outcome.project_id
        qa = self.api("quality", "qa", sub="u-qa-zhou")
        supervisor = self.api("quality", "supervisor", sub="u-sup-chen")
        today = self.today
        period = f"{today:%Y-%m}"
        actives = [a["agent_id"] for a in self.outcome.pool["items"] if a["role"] == "active"]
        first, second = actives[0], actives[1]
        figures = [
            {
                "project_id": project_id,
                "agent_id": agent_id,
                "date": today.isoformat(),
                "receptions": 120,
                "inquiries": 80,
                "orders": orders,
                "first_response_seconds": "9",
                "avg_response_seconds": seconds,
                "sales_amount": sales,
                "votes_very_satisfied": 30,
                "votes_satisfied": 8,
                "votes_neutral": 2,
            }
            for agent_id, orders, seconds, sales in (
                (first, 28, "24", "7504.00"),
                (second, 20, "36", "5360.00"),
            )
        ]

        def imported() -> bool:
            status, _, _ = qa.post("/api/v1/agent-days", figures)
            return status == 200  # 422 until quality has heard of the project and agents

        self.wait(imported, "quality to know the project and its agents")
        at = f"{today.isoformat()}T10:00:00+08:00"
        chats = [
            {
                "project_id": project_id,
                "external_id": "tm-demo-1",
                "agent_id": first,
                "outcome": "ordered",
                "messages": [
                    {"at": at, "sender": "customer", "text": "这款有现货吗"},
                    {
                        "at": at.replace("10:00:00", "10:00:06"),
                        "sender": "agent",
                        "text": "亲，您好，有现货的哦",
                    },
                    {"at": at.replace("10:00:00", "10:01:00"), "sender": "customer", "text": "好的，已拍"},
                    {
                        "at": at.replace("10:00:00", "10:01:08"),
                        "sender": "agent",
                        "text": "感谢亲的支持，祝您购物愉快",
                    },
                ],
            },
            {
                "project_id": project_id,
                "external_id": "tm-demo-2",
                "agent_id": second,
                "outcome": "lost",
                "messages": [
                    {"at": at, "sender": "customer", "text": "双十一的券怎么用不了"},
                    {"at": at.replace("10:00:00", "10:02:00"), "sender": "agent", "text": "不知道"},
                    {
                        "at": at.replace("10:00:00", "10:02:30"),
                        "sender": "customer",
                        "text": "什么态度，我要投诉",
                    },
                ],
            },
        ]
        checked = self.ok(qa.post("/api/v1/conversations", chats))
        flagged = self.ok(qa.get(f"/api/v1/conversations?project_id={project_id}&needs_review=true"))["items"]
        self.step(
            f"quality: the day's figures of two agents and {checked['received']} chats in; "
            f"the machine flagged {checked['flagged']} "
            f"({', '.join(flagged[0]['flags']) if flagged else 'nothing'})"
        )
        self.expect([c["external_id"] for c in flagged] == ["tm-demo-2"], "the rude, slow chat is flagged")
        scorecard = self.ok(qa.get(f"/api/v1/projects/{project_id}/scorecard"))
        points = {item["key"]: item["points"] for item in scorecard["items"]}
        points.update({"greet": 0, "respond": 2, "standard_scripts": 0, "tone": 1})
        self.ok(
            supervisor.post(
                "/api/v1/reviews",
                {
                    "conversation_id": flagged[0]["id"] if flagged else "",
                    "tier": "supervisor",
                    "points": points,
                    "problems": ["未问候", "使用禁用语“不知道”", "未解释优惠券规则"],
                },
            ),
            201,
        )
        self.ok(
            supervisor.put(
                f"/api/v1/projects/{project_id}/agents/{second}/execution/{period}", {"score": "60"}
            ),
            201,
        )
        run = self.ok(qa.post("/api/v1/kpi-runs", {"project_id": project_id, "period": period}))
        scores = {k["agent_id"]: k for k in run["items"]}
        self.outcome.kpi = scores
        for agent_id in (first, second):
            k = scores.get(agent_id, {})
            self.say(
                f"     {self._name(agent_id)}: KPI {k.get('score')} (data {k.get('data')}, work "
                f"{k.get('performance')}, execution {k.get('execution')}; "
                f"targets met: {k.get('targets_met')})"
            )
        self.step(
            f"quality: KPI scored for {run['scored']} agents of {period} (65% data, 25% work, 10% execution)"
        )
        self.expect(
            Decimal(scores.get(first, {}).get("score", "0"))
            > Decimal(scores.get(second, {}).get("score", "0")),
            "the agent with the better figures and no finding scores higher",
        )
        self.review_week(qa, second)

    def review_week(self, qa: Api, reviewed_agent: str) -> None:
        """The week's review (with the complaint quality heard of) and the improvement training the review's
        finding opened in training."""
        project_id = self.outcome.project_id
        year, number, _ = self.today.isocalendar()
        week = f"{year}-W{number:02d}"

        def reviewed() -> Any:
            status, body, _ = qa.get(f"/api/v1/projects/{project_id}/weekly-review?week={week}")
            return body if status == 200 and body["complaints"]["opened"] >= 1 else None

        review = self.wait(reviewed, "quality to hear of the week's complaint")
        self.outcome.weekly_review = review
        top = review["reviews"]["top_problems"]
        missed = [t["name"] for t in review["targets"] if t["met"] is False]
        self.step(
            f"quality: weekly review {week}: {review['machine_qa']['flagged']} chat(s) flagged, "
            f"{review['complaints']['opened']} complaint(s) ({review['complaints']['upheld']} upheld), "
            f"top problem {top[0]['problem'] if top else '—'}; targets missed: {', '.join(missed) or 'none'}"
        )
        trainer = self.api("training", "trainer", sub="u-trainer-zhao")

        def improvement() -> Any:
            status, body, _ = trainer.get(f"/api/v1/retrainings?project_id={project_id}&source=qa")
            items = body.get("items", []) if status == 200 else []
            return items[0] if items else None

        record = self.wait(improvement, "training to open improvement training from the QA finding")
        self.outcome.improvement = record
        problems = [p for f in record.get("findings") or [] for p in f["problems"]]
        self.step(
            f"training: improvement training (提升培训) opened for {self._name(reviewed_agent)} with the "
            f"review's {len(problems)} problems"
        )
        self.expect(record["agent_id"] == reviewed_agent, "the improvement training is the reviewed agent's")

    def pay(self) -> None:
        project_id = self.outcome.project_id
        finance = self.api("billing", "finance", sub="u-finance-sun")
        expert = self.api("scheduling", "vendor")
        today = self.today
        period = f"{today:%Y-%m}"
        actives = [a["agent_id"] for a in self.outcome.pool["items"] if a["role"] == "active"]
        hourly, commission, monthly, base = actives[2], actives[1], actives[3], actives[4]
        month_start = today.replace(day=1)
        plans = [
            {"type": "hourly", "hourly_rate": "20.00"},
            {"agent_id": monthly, "type": "monthly", "monthly_base": "4000.00"},
            {
                "agent_id": base,
                "type": "base_commission",
                "monthly_base": "4000.00",
                "commission_rate": "0.01",
                "conditions": {"max_avg_response_seconds": "30", "min_response_rate": "0.95"},
                "base_factor_when_unmet": "0.5",
            },
            {"agent_id": commission, "type": "commission", "commission_rate": "0.05"},
        ]
        for plan in plans:
            self.ok(
                finance.post(
                    "/api/v1/pay-plans",
                    {
                        "project_id": project_id,
                        "effective_from": month_start.isoformat(),
                        **plan,
                    },
                ),
                201,
            )
        self.step("pay plans: project default 20 CNY/hour; overrides 4,000/month, 4,000 + 1% on targets, 5%")

        self.ok(
            expert.post(
                "/api/v1/timesheets",
                {
                    "project_id": project_id,
                    "agent_id": hourly,
                    "date": today.isoformat(),
                    "hours": "8",
                },
            ),
            200,
            201,
        )
        sales = [
            {"agent_id": base, "avg_response_seconds": "25", "response_rate": "0.98", "consultations": 500},
            {
                "agent_id": commission,
                "avg_response_seconds": "28",
                "response_rate": "0.97",
                "consultations": 450,
            },
        ]

        def performance() -> bool:
            status, _, _ = finance.post(
                "/api/v1/performance",
                [
                    {"project_id": project_id, "date": today.isoformat(), "sales_amount": "100000.00", **row}
                    for row in sales
                ],
            )
            return status in (200, 201)  # 422 until billing has heard of the agents (agent.admitted)

        self.wait(performance, "billing to know the agents")
        self.wait(
            lambda: finance.get(f"/api/v1/worked-hours?agent_id={hourly}")[1].get("items"),
            "the timesheet's shift.worked in billing",
        )
        self.wait(
            lambda: finance.get(f"/api/v1/deductions?agent_id={commission}")[1].get("items"),
            "the complaint's penalty in billing",
        )
        self.step(
            "timesheet 8 h (→ shift.worked), sales 100,000 each for two agents, the 200 penalty arrived"
        )

        run = self.ok(finance.post("/api/v1/payroll-runs", {"period": period, "project_id": project_id}), 201)
        payslips = self.ok(finance.get(f"/api/v1/payroll-runs/{run['id']}/payslips?per_page=100"))["items"]
        by_agent = {p["agent_id"]: p for p in payslips}
        days = (
            month_start.replace(
                month=month_start.month % 12 + 1, year=month_start.year + (month_start.month == 12)
            )
            - month_start
        ).days
        share = Decimal(days - today.day + 1) / Decimal(days)
        expected = {
            hourly: Decimal("160.00"),
            monthly: money_round(Decimal("4000") * share),
            base: money_round(Decimal("4000") * share) + Decimal("1000.00"),
            commission: Decimal("5000.00") - Decimal("200.00"),
        }
        for agent_id, amount in expected.items():
            slip = by_agent.get(agent_id)
            got = money(slip["total"]) if slip else None
            self.say(
                f"     {self._name(agent_id)} ({slip['plan_type'] if slip else '-'}): {got} CNY — "
                + ("; ".join(line["explanation"] for line in slip["lines"]) if slip else "no payslip")
            )
            self.expect(got == amount, f"{self._name(agent_id)} is paid {amount}, got {got}")
        approved = self.ok(finance.post(f"/api/v1/payroll-runs/{run['id']}/approve"))
        status, csv_text, _ = finance.get(f"/api/v1/payroll-runs/{run['id']}/export")
        self.outcome.payroll = approved
        self.outcome.payslips = payslips
        self.outcome.export_csv = csv_text if isinstance(csv_text, str) else ""
        self.step(
            f"payroll {period}: {len(payslips)} payslips, total {approved['total']} CNY, "
            f"{approved['status']}; CSV export {status} ({len(self.outcome.export_csv.splitlines())} lines)"
        )
        self.expect(approved["status"] == "approved", "the payroll run is approved")
        self.expect(
            money(approved["total"]) == sum(expected.values()), "the run's total is the sum of the four"
        )


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def money_round(value: Decimal) -> Decimal:
    from shared.money import quantize

    return quantize(value)


def ensure_postgres_database(url: str) -> None:
    """Create the database named in a PostgreSQL URL if it does not exist yet."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    conninfo = (
        f"host={u.host or '127.0.0.1'} port={u.port or 5432} user={u.username or 'postgres'} dbname=postgres"
    )
    if u.password:
        conninfo += f" password={u.password}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{u.database}"')  # type: ignore[arg-type]


def run_demo(*, use_running: bool = False, timeout: float = 60.0, say: Callable[[str], None] = print) -> int:
    """Start the stack (or use the running one), play the story, print the summary.

    0 when every outcome matched, 1 when one differed, 2 when the stack could not start (its ports are
    busy). A stack of our own gets a key pair of its own and a broker prefix of its own; its queues, exchange
    and temporary folder are removed afterwards (the folder is kept, with the logs, when the story failed).
    """
    import os
    import shutil
    import tempfile
    import uuid
    from pathlib import Path

    from shared.auth import load_signing_key
    from shared.config import SERVICES, ConfigError, Settings, database_url_for, port_offset

    settings = Settings.from_env("demo")
    if use_running:
        offset = port_offset()
        urls = {s: f"http://127.0.0.1:{p + offset}" for s, p in SERVICES.items()}
        try:
            key = load_signing_key(settings)  # the running services' own key pair, as `yunkefu token`
        except ConfigError as exc:
            say(f"✗ cannot sign tokens for the running services: {exc}")
            return 2
        return _play(urls, key, timeout, say)
    run = uuid.uuid4().hex[:6]
    var_dir = Path(tempfile.mkdtemp(prefix=f"yunkefu-demo-{run}-"))
    if os.environ.get("DATABASE_URL"):
        env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"]}
        database_urls = {s: database_url_for(s, env) for s in SERVICES}
        for url in database_urls.values():
            if url.startswith("postgresql"):
                ensure_postgres_database(url)
        where = "PostgreSQL"
    else:
        database_urls = {s: f"sqlite:///{var_dir / f'{s}.db'}" for s in SERVICES}
        where = f"SQLite under {var_dir}"
    # the stack is ours alone: a key pair of its own, never the development default
    config = StackConfig(
        database_urls=database_urls,
        amqp_url=settings.amqp_url,
        broker_prefix=f"yunkefu-demo-{run}",
        keys_dir=generate_stack_keys(var_dir / "keys"),
        var_dir=var_dir,
        port_offset=int(os.environ.get("DEMO_PORT_OFFSET", "100")),
        extra_env={"SCHEDULING_SOLVER_TIME_LIMIT": "3", "SCHEDULING_PLAN_TIME_LIMIT": "4"},
    )
    say(f"starting 6 services + 6 workers on {where}, broker prefix {config.broker_prefix} …")
    code = 1
    declared = False
    try:
        with Stack(config, var_dir / "logs") as stack:
            try:
                declared = True  # from here on the workers may declare queues
                stack.start()
            except PortsBusy as exc:
                declared = False
                say(f"✗ not starting: {exc} (DEMO_PORT_OFFSET moves the demo's ports)")
                code = 2
                return code
            say(f"all ready; logs in {var_dir / 'logs'}")
            key = SigningKey.load(config.private_key_file)
            code = _play({s: config.base_url(s) for s in SERVICES}, key, timeout, say)
            return code
    finally:
        if declared:
            try:
                delete_broker_objects(config.settings("onboarding"))
            except Exception as exc:  # pika raises several unrelated types; cleanup must not hide the result
                say(f"could not delete the broker objects {config.broker_prefix}.*: {exc!r}")
        if code == 1:
            say(f"logs kept in {var_dir / 'logs'}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)


def _play(urls: dict[str, str], key: SigningKey, timeout: float, say: Callable[[str], None]) -> int:
    story = Story(urls, key, say=say, timeout=timeout)
    try:
        outcome = story.run()
    except DemoFailure as exc:
        say(f"✗ the story stopped: {exc}")
        return 1
    say("")
    say(
        f"funnel: {SEATS} seats → {outcome.requisition.get('matched')} matched → "
        f"{outcome.cohort.get('admitted')} admitted → {outcome.pool.get('active')} active + "
        f"{outcome.pool.get('reserve')} reserve"
    )
    if outcome.payroll:
        say(
            f"payroll {outcome.payroll.get('period')}: {len(outcome.payslips)} payslips, "
            f"total {outcome.payroll.get('total')} CNY ({outcome.payroll.get('status')})"
        )
    say(f"time spent waiting for events: {story.event_wait:.2f} s")
    if outcome.failures:
        say(f"✗ {len(outcome.failures)} outcome(s) differ from the seed: " + "; ".join(outcome.failures))
        return 1
    say("✓ every step matched the seed")
    return 0
