"""Results notices cite the provisions applied as a Vietnamese reader cites
them, with fines and a legal-education paragraph (Art. 6.6)."""

import pytest

from phoihop.legal import default_catalogue
from services.press.notices import (
    citation,
    fines_text,
    format_vnd,
    handling_results_text,
    legal_basis_text,
    legal_education_text,
    provision_reference,
)
from services.press.statements import load_templates


@pytest.fixture(scope="module")
def catalogue():
    return default_catalogue()


@pytest.fixture(scope="module")
def templates():
    return load_templates()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("PRESS2016-9.1.a", "điểm a khoản 1 Điều 9"),
        ("CYBER2018-8.1.dd", "điểm đ khoản 1 Điều 8"),
        ("PRESS2016-9.8", "khoản 8 Điều 9"),
        ("not a code", None),
    ],
    ids=["point", "point-dd", "clause", "malformed"],
)
def test_provision_reference(code, expected):
    assert provision_reference(code) == expected


def test_citation_names_the_instrument(catalogue):
    assert citation("PRESS2016-9.8", catalogue) == (
        "khoản 8 Điều 9 Luật Báo chí 2016 (103/2016/QH13)"
    )


def test_unknown_code_is_cited_as_given(catalogue):
    assert citation("NEWLAW2026-1.1", catalogue) == "NEWLAW2026-1.1"


def test_legal_basis_lists_each_provision_with_its_label(catalogue):
    text = legal_basis_text(["PRESS2016-9.8", "CYBER2018-16.5"], catalogue)

    lines = text.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("- khoản 8 Điều 9 Luật Báo chí 2016")
    assert "Sai sự thật, vu khống" in lines[0]
    assert "Luật An ninh mạng 2018" in lines[1]


def test_fines_are_written_in_vietnamese_money(catalogue):
    text = fines_text(["PRESS2016-9.8", "D15-101.1.a"], catalogue)

    assert "từ 10.000.000 đến 20.000.000 đồng đối với tổ chức" in text
    assert "Nghị định 15/2020/NĐ-CP" in text
    assert format_vnd(5000000) == "5.000.000"


def test_legal_education_cites_violated_provisions_and_fines(catalogue, templates):
    text = legal_education_text(templates, ["PRESS2016-9.8", "D15-101.1.a"], catalogue)

    assert text.startswith("Theo khoản 8 Điều 9 Luật Báo chí 2016")
    assert "Mức phạt tiền áp dụng" in text
    assert "nguồn chính thống" in text
    assert "  " not in text


def test_legal_education_without_sanction_has_no_fine_sentence(catalogue, templates):
    text = legal_education_text(templates, ["CYBER2018-16.5"], catalogue)

    assert "Mức phạt" not in text


def test_handling_results_show_each_measure_and_its_result(templates):
    measures = [
        {
            "measure_id": "m1",
            "kind": "removal_request",
            "agency": "dic",
            "target": "ministry",
        },
        {"measure_id": "m2", "kind": "sanction_proposal", "agency": "police"},
    ]
    names = {"dic": "Sở TT&TT", "police": "Công an thành phố"}

    text = handling_results_text(templates, measures, {"m1": "done"}, names.get)

    assert text.splitlines() == [
        "- Đề nghị Bộ gỡ bỏ thông tin vi phạm (Điều 7.1.g) (Sở TT&TT): "
        "đã thực hiện xong",
        "- Đề xuất xử phạt vi phạm hành chính (Công an thành phố): đang thực hiện",
    ]
