"""The quality HTTP API (/api/v1/…): thin views over the use cases (``platform_data``, ``conversations``,
``reviews``, ``kpi``) and ``queries``.

Roles: quality staff (qa) and the vendor import and review; supervisors review too, rate execution and
read; trainers read the findings; a merchant reads its own projects. Writes commit through
``@transactional``.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from services.quality import conversations, exports, kpi, platform_data, queries, reviews, weekly
from services.quality.config import QualitySettings, load_settings
from services.quality.schemas import (
    AgentDayIn,
    AgentDayListArgs,
    AgentDayPage,
    ConversationDetailOut,
    ConversationIn,
    ConversationListArgs,
    ConversationPage,
    ExecutionRatingIn,
    ExecutionRatingOut,
    ImportArgs,
    ImportResult,
    KpiListArgs,
    KpiPage,
    KpiRunIn,
    KpiRunOut,
    PeriodArgs,
    ReviewIn,
    ReviewListArgs,
    ReviewOut,
    ReviewPage,
    SampleIn,
    SampleOut,
    ScorecardIn,
    ScorecardListArgs,
    ScorecardOut,
    ScorecardPage,
    StoreOut,
    TargetsArgs,
    TargetsOut,
    WeekArgs,
    WeeklyReviewOut,
)
from shared.auth import roles_required
from shared.errors import NotFound, ValidationFailed
from shared.web import current_uow, get_settings, transactional
from shared.web.batches import json_batch, one_or_many_body, racing
from shared.web.downloads import export_responses, read_upload, upload_request_body, workbook_response

blp = Blueprint(
    "quality",
    __name__,
    url_prefix="/api/v1",
    description="Quality inspection (质检): platform figures, conversations, machine QA, samples, "
    "scorecards, reviews, execution ratings, KPI (65/25/10) and the store's monthly figures.",
)

READERS = ("vendor", "qa", "supervisor", "trainer", "merchant")
IMPORTERS = ("vendor", "qa")
REVIEWERS = ("vendor", "qa", "supervisor")
RATERS = ("vendor", "supervisor")
#: a CSV line of figures or of one message is well under 1 KB; this bounds an upload before it is parsed
_BYTES_PER_ROW = 1024


def _settings() -> QualitySettings:
    return load_settings(get_settings().extra)


def _refuse_unreadable(errors: dict[str, list[str]]) -> None:
    if "file" in errors or "line 1" in errors:
        raise ValidationFailed(errors, detail=f"{next(iter(errors.values()))[0]}; nothing was imported.")


# --- platform figures ------------------------------------------------------------------------------------

_DAYS_DOC = (
    "One object or an array (up to QUALITY_MAX_IMPORT_ROWS), one project per batch. All or nothing: every "
    "item's problem is reported at once (keys like `3.orders`). Every (project, date) in the batch is "
    "replaced as a whole: importing a corrected day again leaves exactly the new rows. The agent must be "
    "known (agent.admitted) and the date over; orders ≤ inquiries ≤ receptions."
)


@blp.route("/agent-days")
class AgentDays(MethodView):
    @roles_required(*READERS)
    @blp.arguments(AgentDayListArgs, location="query")
    @blp.response(200, AgentDayPage)
    def get(self, args: dict[str, Any]) -> Any:
        """List agents' daily platform figures (filters: project_id, agent_id, from, to)"""
        return queries.list_agent_days(current_uow(), args)

    @transactional
    @roles_required(*IMPORTERS)
    @blp.response(200, ImportResult)
    @blp.doc(
        description=_DAYS_DOC,
        requestBody=one_or_many_body("AgentDayIn"),
    )
    def post(self) -> dict[str, Any]:
        """Import agents' daily platform figures (JSON)"""
        items, labels, errors = json_batch(AgentDayIn(), _settings().max_import_rows)
        if not items:
            raise ValidationFailed(errors)
        with racing("The same days were imported by a concurrent request; import them again.") as uow:
            return platform_data.record_agent_days(uow, items, labels, source="json", earlier_errors=errors)


@blp.route("/agent-days/import", methods=["POST"])
@transactional
@roles_required(*IMPORTERS)
@blp.arguments(ImportArgs, location="query")
@blp.response(200, ImportResult)
@blp.doc(
    description="The shop back office's export, CSV (UTF-8, GBK, GB18030) or .xlsx, headers in English or "
    "Chinese: 项目编号 (or ?project_id=), 客服编号, 日期, 接待人数, 询单人数, 下单人数, 首次响应(秒), "
    "平均响应(秒), 销售额, 很满意, 满意, 一般, 不满意, 很不满意, 品质退款, 平台求助. " + _DAYS_DOC,
    requestBody=upload_request_body(),
)
def import_agent_days(args: dict[str, Any]) -> dict[str, Any]:
    """Import agents' daily platform figures from a file (all or nothing)"""
    limit = _settings().max_import_rows
    raw = read_upload(limit * _BYTES_PER_ROW, what="figures file")
    parsed = exports.parse_agent_days(raw, project_id=args.get("project_id"), max_rows=limit)
    _refuse_unreadable(parsed.errors)
    if not parsed.items:
        raise ValidationFailed(parsed.errors, detail="No line could be read; nothing was imported.")
    with racing("The same days were imported by a concurrent request; upload the file again.") as uow:
        return platform_data.record_agent_days(
            uow, parsed.items, parsed.labels, source="file", earlier_errors=parsed.errors
        )


# --- conversations -------------------------------------------------------------------------------------

_CONVERSATIONS_DOC = (
    "One conversation or an array (up to QUALITY_MAX_CONVERSATIONS), one project per batch, each with its "
    "messages (at with offset, sender agent|customer, text) and outcome (ordered, lost = 询单流失, none). "
    "All or nothing. Each is checked by the machine (response times against the order's targets, "
    "greeting, closing, forbidden words, the customer's sentiment, complaint intent, unanswered messages) "
    "and flagged for review when it finds something. Matched by external_id: an imported one is updated "
    "in place; a day imported again is replaced (its conversations missing from the batch are deleted, "
    "reviewed ones kept)."
)


@blp.route("/conversations")
class Conversations(MethodView):
    @roles_required(*READERS)
    @blp.arguments(ConversationListArgs, location="query")
    @blp.response(200, ConversationPage)
    def get(self, args: dict[str, Any]) -> Any:
        """List conversations, newest first (filters: project_id, agent_id, from, to, flag, needs_review,
        reviewed, outcome)"""
        return queries.list_conversations(current_uow(), args)

    @transactional
    @roles_required(*IMPORTERS)
    @blp.response(200, ImportResult)
    @blp.doc(
        description=_CONVERSATIONS_DOC,
        requestBody=one_or_many_body("ConversationIn"),
    )
    def post(self) -> dict[str, Any]:
        """Import conversations (JSON) and check them"""
        settings = _settings()
        items, labels, errors = json_batch(ConversationIn(), settings.max_conversations)
        if not items:
            raise ValidationFailed(errors)
        with racing("The same conversations were imported by a concurrent request; import again.") as uow:
            return conversations.import_conversations(
                uow, items, labels, settings, source="json", earlier_errors=errors
            )


@blp.route("/conversations/import", methods=["POST"])
@transactional
@roles_required(*IMPORTERS)
@blp.arguments(ImportArgs, location="query")
@blp.response(200, ImportResult)
@blp.doc(
    description="The back office's chat-record export, one row per message, CSV or .xlsx: 项目编号 (or "
    "?project_id=), 会话编号, 客服编号, 顾客, 结果 (已下单 / 询单流失 / 无), 时间 (Beijing time), 发送方 "
    "(客服 / 顾客), 内容. " + _CONVERSATIONS_DOC,
    requestBody=upload_request_body(),
)
def import_conversations_file(args: dict[str, Any]) -> dict[str, Any]:
    """Import chat records from a file and check them (all or nothing)"""
    settings = _settings()
    limit = settings.max_import_rows
    raw = read_upload(limit * _BYTES_PER_ROW, what="chat-record file")
    parsed = exports.parse_messages(raw, project_id=args.get("project_id"), max_rows=limit)
    _refuse_unreadable(parsed.errors)
    if not parsed.items:
        raise ValidationFailed(parsed.errors, detail="No line could be read; nothing was imported.")
    loaded, labels, errors = [], [], dict(parsed.errors)
    schema = ConversationIn()
    for label, item in zip(parsed.labels, parsed.items, strict=True):
        problems = schema.validate(item)
        if problems:
            errors.update({f"{label}.{k}": [str(v)] for k, v in problems.items()})
        else:
            loaded.append(item)
            labels.append(label)
    if len(loaded) > settings.max_conversations:
        raise ValidationFailed({"file": [f"more than {settings.max_conversations} conversations; split it"]})
    with racing("The same conversations were imported by a concurrent request; upload again.") as uow:
        return conversations.import_conversations(
            uow, loaded, labels, settings, source="file", earlier_errors=errors
        )


@blp.route("/conversations/<conversation_id>", methods=["GET"])
@roles_required(*READERS)
@blp.response(200, ConversationDetailOut)
def get_conversation(conversation_id: str) -> Any:
    """One conversation with its messages and the machine's findings"""
    return conversations.get_conversation(current_uow(), conversation_id)


@blp.route("/samples", methods=["POST"])
@transactional
@roles_required(*REVIEWERS)
@blp.arguments(SampleIn)
@blp.response(200, SampleOut)
@blp.alt_response(201, schema=SampleOut, description="drawn now")
@blp.doc(
    description="weekly: per agent, QUALITY_SAMPLE_SIZE of the week's conversations the machine did not "
    "flag, stratified by outcome, reproducibly; lost_inquiries: every lost inquiry of the week (询单流失"
    "全检). Asking again gives the same sample (200); the first time answers 201."
)
def draw_sample(data: dict[str, Any]) -> Any:
    """Draw (or get) a week's sample of conversations for people to review"""
    sample, created = conversations.draw_sample(
        current_uow(), data["project_id"], data["week"], data["kind"], _settings()
    )
    return sample, 201 if created else 200


@blp.route("/samples/<sample_id>", methods=["GET"])
@roles_required(*READERS)
@blp.response(200, SampleOut)
def get_sample(sample_id: str) -> Any:
    """One sample"""
    return conversations.get_sample(current_uow(), sample_id)


# --- scorecards and reviews ------------------------------------------------------------------------------


@blp.route("/scorecards")
class Scorecards(MethodView):
    @roles_required(*READERS)
    @blp.arguments(ScorecardListArgs, location="query")
    @blp.response(200, ScorecardPage)
    def get(self, args: dict[str, Any]) -> Any:
        """List scorecards, newest first (project_id: that project's and the vendor's)"""
        return queries.list_scorecards(current_uow(), args)

    @transactional
    @roles_required(*IMPORTERS)
    @blp.arguments(ScorecardIn)
    @blp.response(201, ScorecardOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a new version of a project's scorecard (from the merchant's standard) or, vendor only,
        of the vendor's default"""
        return reviews.create_scorecard(current_uow(), data)


@blp.route("/scorecards/<scorecard_id>", methods=["GET"])
@roles_required(*READERS)
@blp.response(200, ScorecardOut)
def get_scorecard(scorecard_id: str) -> Any:
    """One scorecard"""
    return reviews.get_scorecard(current_uow(), scorecard_id)


@blp.route("/projects/<project_id>/scorecard", methods=["GET"])
@transactional
@roles_required(*READERS)
@blp.response(200, ScorecardOut)
def project_scorecard(project_id: str) -> Any:
    """The scorecard the project is reviewed with: its own, else the vendor's (422 when the merchant has
    a standard and no scorecard was made from it yet)"""
    uow = current_uow()
    return reviews.effective_scorecard(uow, reviews.known_project(uow, project_id))


@blp.route("/reviews")
class Reviews(MethodView):
    @roles_required(*READERS)
    @blp.arguments(ReviewListArgs, location="query")
    @blp.response(200, ReviewPage)
    def get(self, args: dict[str, Any]) -> Any:
        """List reviews, newest first (filters: project_id, agent_id, from, to, method, tier)"""
        return queries.list_reviews(current_uow(), args)

    @transactional
    @roles_required(*REVIEWERS)
    @blp.arguments(ReviewIn)
    @blp.response(201, ReviewOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Review a conversation (or an agent's day, for a mystery shopper, survey or data check) against
        the project's scorecard; problems and good cases go to the trainers (qa.finding)"""
        return reviews.record_review(current_uow(), data)


@blp.route("/reviews/<review_id>", methods=["GET"])
@roles_required(*READERS)
@blp.response(200, ReviewOut)
def get_review(review_id: str) -> Any:
    """One review"""
    return reviews.get_review(current_uow(), review_id)


@blp.route("/projects/<project_id>/agents/<agent_id>/execution/<period>")
class Execution(MethodView):
    @roles_required(*READERS)
    @blp.response(200, ExecutionRatingOut)
    def get(self, project_id: str, agent_id: str, period: str) -> Any:
        """The supervisor's execution rating of an agent for a period"""
        uow = current_uow()
        reviews.known_project(uow, project_id)
        rating = reviews.execution_rating(uow, project_id, agent_id, period)
        if rating is None:
            raise NotFound("This agent has no execution rating for this period.")
        return rating

    @transactional
    @roles_required(*RATERS)
    @blp.arguments(ExecutionRatingIn)
    @blp.response(200, ExecutionRatingOut)
    @blp.alt_response(201, schema=ExecutionRatingOut, description="rated for the first time")
    def put(self, data: dict[str, Any], project_id: str, agent_id: str, period: str) -> Any:
        """Rate an agent's execution for a period (执行力, 0–100); rating again replaces it"""
        period = _period(period)
        rating, created = reviews.rate_execution(current_uow(), project_id, agent_id, period, data)
        return rating, 201 if created else 200


def _period(period: str) -> str:
    problems = PeriodArgs().validate({"period": period})
    if problems:
        raise ValidationFailed({"period": problems["period"]})
    return period


# --- KPI and the store -------------------------------------------------------------------------------------


@blp.route("/kpi-runs", methods=["POST"])
@transactional
@roles_required(*REVIEWERS)
@blp.arguments(KpiRunIn)
@blp.response(200, KpiRunOut)
def score_kpi(data: dict[str, Any]) -> Any:
    """Score every agent's KPI of a project for a period (65% data, 25% work performance, 10% execution);
    new or changed scores are announced (kpi.scored). Scoring again with the same inputs changes nothing."""
    settings = _settings()
    uow = current_uow()
    result = kpi.score_period(uow, data["project_id"], data["period"], settings)
    names = kpi.agent_names(uow, data["project_id"], [k.agent_id for k in result["items"]])
    result["items"] = [queries.kpi_view(k, settings, names.get(k.agent_id)) for k in result["items"]]
    return result


@blp.route("/kpi", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(KpiListArgs, location="query")
@blp.response(200, KpiPage)
def list_kpi(args: dict[str, Any]) -> Any:
    """List KPI scores of a project (filters: period, agent_id, warning = below the threshold for the
    warning number of periods in a row)"""
    return queries.list_kpi(current_uow(), args, _settings())


@blp.route("/projects/<project_id>/targets", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(TargetsArgs, location="query")
@blp.response(200, TargetsOut)
def project_targets(args: dict[str, Any], project_id: str) -> Any:
    """The order's service targets (首响, 平响, 转化率, 客单价, 满意度) against the project's imported figures
    of a month (`period`) or an ISO week (`week`)"""
    return weekly.targets_against_actuals(current_uow(), project_id, args.get("period"), args.get("week"))


@blp.route("/projects/<project_id>/weekly-review", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(WeekArgs, location="query")
@blp.response(200, WeeklyReviewOut)
def weekly_review(args: dict[str, Any], project_id: str) -> Any:
    """The weekly review (质检周报): targets against actuals, each agent's week, the machine check, the
    reviews' most frequent problems and good cases, the complaints and the month's KPI"""
    return weekly.weekly_review(current_uow(), project_id, args.get("week"), _settings())


@blp.route("/projects/<project_id>/weekly-review.xlsx", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(WeekArgs, location="query")
@blp.doc(responses=export_responses("the weekly review as a workbook, one sheet per section", "xlsx"))
def weekly_review_xlsx(args: dict[str, Any], project_id: str) -> Response:
    """The weekly review as an xlsx workbook: summary, targets, agents, problems, good cases, complaints"""
    report = weekly.weekly_review(current_uow(), project_id, args.get("week"), _settings())
    return workbook_response(
        weekly.workbook_sheets(report, args["lang"]),
        filename=f"质检周报-{report['company_name'] or project_id}-{report['week']}",
        lang=args["lang"],
    )


@blp.route("/projects/<project_id>/store", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(PeriodArgs, location="query")
@blp.response(200, StoreOut)
def store_month(args: dict[str, Any], project_id: str) -> Any:
    """The store's month: 旺旺 satisfaction and the gold-team mark (≥ 95%), first-time product-quality
    refund rate, platform help rate"""
    return kpi.store_month(current_uow(), project_id, args["period"], _settings())
