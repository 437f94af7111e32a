"""The FAQ sheet out: rows for ``shared.tabular`` (CSV/XLSX) and Markdown for the trainers."""

from __future__ import annotations

from typing import Any

from services.onboarding.faq import faq_items, faq_view
from services.onboarding.models import Project
from shared.tabular import Column
from shared.uow import UnitOfWork

FAQ_COLUMNS: tuple[Column, ...] = (
    Column("no", "序号", kind="integer"),
    Column("type", "类型"),
    Column("key", "键"),
    Column("question", "问题"),
    Column("answer", "答案或话术"),
)


def _sheet_title(project: Project) -> str:
    return f"常见问题咨询&话术 — {project.company_name or project.id}"


def faq_rows(uow: UnitOfWork, project: Project, lang: str = "zh") -> list[list[Any]]:
    """The sheet for ``shared.tabular``: standard questions first, then the merchant's own."""
    kinds = {True: "standard", False: "custom"} if lang == "en" else {True: "标准", False: "商家自定义"}
    return [
        [number, kinds[item["standard"]], item["key"], item["question"], item["answer"]]
        for number, item in enumerate(faq_items(uow.session, project), start=1)
    ]


def _md_cell(text: str | None) -> str:
    return (text or "").replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>")


def faq_markdown(uow: UnitOfWork, project: Project) -> bytes:
    """The sheet for the trainers (培训老师): standard questions, festival scripts, the shop's own."""
    sheet = faq_view(uow.session, project)
    lines = [f"# {_sheet_title(project)}", ""]
    for group, heading in (("faq", "常见问题"), ("script", "大促话术")):
        lines += [f"## {heading}", "", "| 问题 | 答案或话术 |", "| --- | --- |"]
        for q in sheet["standard"]:
            if q["group"] == group:
                pending = "*(不适用)*" if q["not_applicable"] else "*(待商家填写)*"
                answer = _md_cell(q["answer"]) if q["answered"] else pending
                question = _md_cell(q["question"]) + (f"<br>*{_md_cell(q['hint'])}*" if q["hint"] else "")
                lines.append(f"| {question} | {answer} |")
        lines.append("")
    lines += ["## 商家自定义问题", ""]
    if sheet["custom"]:
        lines += ["| 问题 | 答案或话术 |", "| --- | --- |"]
        lines += [f"| {_md_cell(c['question'])} | {_md_cell(c['answer'])} |" for c in sheet["custom"]]
    else:
        lines.append("*(无)*")
    lines.append("")
    return "\n".join(lines).encode("utf-8")
