"""Reading the talent-pool CSV: columns, encodings, every bad row with its line number."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.recruitment.csv_import import FileRejected, parse_csv

HEADER = (
    "name,phone,skills,shifts_available,basic_training_passed,basic_score,"
    "categories,platforms,city,experience_months,notes\n"
)


def parse(text: str, encoding: str = "utf-8", max_rows: int = 100):  # type: ignore[no-untyped-def]
    return parse_csv(text.encode(encoding), max_rows=max_rows)


def test_a_good_file_with_bom_and_chinese_values() -> None:
    text = (
        "\ufeff"
        + HEADER
        + '张三,+86 138-0013-8000,"售前;售后",早班|晚班,是,88.5,服装,天猫,杭州,12,夜校\n'
        + "李四,13900139000,presale,night,false,60,,,,,\n"
        + "\n"
    )
    parsed = parse(text)
    assert parsed.errors == []
    (line1, first), (line2, second) = parsed.rows
    assert (line1, line2) == (2, 3)
    assert first.phone == "13800138000"
    assert first.skills == ["presale", "aftersale"]
    assert first.shifts_available == ["morning", "afternoon"]
    assert first.basic_training_passed is True
    assert first.basic_score == Decimal("88.50")
    assert first.platforms == ["taobao"]
    assert (first.city, first.experience_months) == ("杭州", 12)
    assert second.basic_training_passed is False
    assert (second.categories, second.city, second.experience_months) == ([], None, 0)


def test_chinese_headers_are_accepted() -> None:
    parsed = parse("姓名,手机,技能,班次,基础培训通过,基础分\n王五,13700137000,售前,早班,是,75\n")
    assert [c.name for _, c in parsed.rows] == ["王五"]


def test_every_bad_row_is_reported_with_its_line_and_reasons() -> None:
    text = (
        HEADER
        + "ok,13800138000,presale,morning,yes,80,,,,,\n"
        + "bad phone,12345,presale,morning,yes,80,,,,,\n"
        + "bad skill,13800138001,sales,morning,yes,80,,,,,\n"
        + "bad score,13800138002,presale,morning,yes,101,,,,,\n"
        + ",13800138003,presale,dawn,maybe,-1,,,,x,\n"
        + "dup,138 0013 8000,aftersale,night,no,50,,,,,\n"
        + "short,13800138004\n"
    )
    parsed = parse(text)
    by_line = {e.line: e.errors for e in parsed.errors}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8]
    assert list(by_line[3]) == ["phone"]
    assert "unknown skill 'sales'" in by_line[4]["skills"][0]
    assert "outside 0–100" in by_line[5]["basic_score"][0]
    assert set(by_line[6]) == {
        "name",
        "shifts_available",
        "basic_training_passed",
        "basic_score",
        "experience_months",
    }
    assert by_line[7] == {"phone": ["phone 13800138000 is also on line 2; keep one row."]}
    assert "expected 11 cells" in by_line[8]["_row"][0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        (HEADER, "no candidate rows"),
        ("name,phone\n张三,13800138000\n", "missing required column(s): skills"),
        (HEADER.strip() + ",salary\n", "unknown column(s): salary"),
        ("name,name,phone,skills,shifts_available,basic_training_passed,basic_score\n", "given twice: name"),
    ],
)
def test_file_level_problems(text: str, message: str) -> None:
    with pytest.raises(FileRejected, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_and_gb18030_files_are_read_like_utf8(encoding: str) -> None:
    parsed = parse(
        "姓名,手机,技能,班次,基础培训通过,基础分,城市\n张三,13800138000,售前,早班,是,80,杭州\n", encoding
    )
    assert parsed.errors == []
    assert [(c.name, c.city) for _, c in parsed.rows] == [("张三", "杭州")]


def test_too_many_rows() -> None:
    rows = "".join(f"n{i},1380013{i:04d},presale,morning,yes,80,,,,,\n" for i in range(3))
    with pytest.raises(FileRejected, match="more than 2"):
        parse(HEADER + rows, max_rows=2)
