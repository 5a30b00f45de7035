"""Statement templates: the shipped Vietnamese ones load, fill every blank,
and a broken template stops the service with the part at fault."""

from datetime import UTC, datetime
from pathlib import Path
from shutil import copytree

import pytest

from phoihop.errors import ConfigError
from services.press.statements import (
    KINDS,
    PLACEHOLDERS,
    bullet_list,
    load_templates,
    place_date,
    render_draft,
    render_footer,
    shorten,
    unfilled_blanks,
)


@pytest.fixture(scope="module")
def templates():
    return load_templates()


def filled_values(**overrides):
    values = {key: f"<{key}>" for key in PLACEHOLDERS}
    values.update(overrides)
    return values


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_template_fills_every_blank(templates, kind):
    title, body = render_draft(templates, kind, filled_values())
    footer = render_footer(templates, kind, filled_values())

    assert "${" not in title + body + footer
    assert "<case_title>" in title
    assert "<facts>" in body
    assert "<spokesperson_name>" in footer


def test_initial_information_carries_position_and_first_measures(templates):
    _, body = render_draft(
        templates,
        "initial_info",
        {
            "leadership_position": "Lãnh đạo Sở khẳng định thông tin là sai sự thật.",
            "first_measures": bullet_list(["Kiểm tra hiện trường", "Báo cáo UBND"]),
        },
    )

    assert "Quan điểm của lãnh đạo" in body
    assert "Lãnh đạo Sở khẳng định thông tin là sai sự thật." in body
    assert "- Kiểm tra hiện trường\n- Báo cáo UBND" in body


def test_blanks_left_empty_read_as_defaults_and_are_found(templates):
    title, body = render_draft(templates, "initial_info", {"case_title": "Tin giả"})

    assert set(unfilled_blanks(templates, [title, body])) == {
        "facts",
        "leadership_position",
        "first_measures",
    }


def test_filled_draft_has_no_unfilled_blanks(templates):
    title, body = render_draft(templates, "official", filled_values())

    assert unfilled_blanks(templates, [title, body]) == []


def test_unknown_blank_in_template_is_refused_naming_the_part(tmp_path, templates):
    directory = Path(copytree(Path(templates_dir()), tmp_path / "t"))
    path = directory / "official.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("${facts}", "${su_viec}"),
        encoding="utf-8",
    )

    with pytest.raises(ConfigError) as refused:
        load_templates(directory)

    assert "su_viec" in refused.value.fields["body"]
    assert "official.yaml" in refused.value.message


def test_template_without_footer_is_refused(tmp_path):
    directory = Path(copytree(Path(templates_dir()), tmp_path / "t"))
    path = directory / "results.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.split("footer:")[0], encoding="utf-8")

    with pytest.raises(ConfigError) as refused:
        load_templates(directory)

    assert "footer" in refused.value.fields


def test_place_date_uses_hai_phong_calendar_day():
    # 18:30 UTC on 31 December is already 1 January in Hai Phong (UTC+7).
    moment = datetime(2025, 12, 31, 18, 30, tzinfo=UTC)

    assert place_date(moment) == "Hải Phòng, ngày 01 tháng 01 năm 2026"


def test_long_summary_is_cut_at_a_word_with_a_mark():
    text = "một hai ba " * 200

    cut = shorten(text, limit=50)

    assert len(cut) <= 52
    assert cut.endswith(" …")
    assert not cut[:-2].endswith(" ")


def templates_dir():
    from services.press.statements import TEMPLATES_DIR

    return TEMPLATES_DIR
