"""The 2-hour initial-information clock of Art. 7.6.d on the real broker and
database, with the limit shortened to seconds: it starts when an incident
case is assigned, reminds the agency, stops when the statement goes out in
time, and escalates to DIC when nobody acts."""

from datetime import UTC, datetime, timedelta

from press_support import call as hook
from press_support import officer, spokesperson, wait_until

from services.press.service import PressService


def seconds_between(start, end):
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def test_statement_given_in_time_stops_the_clock_and_counts_on_time(
    container_factory, press_config, case_events, listen
):
    # 14 s limit, reminders 9 s and 6 s before it: at +5 s and +8 s, which
    # leaves 6 s to approve and distribute even on a loaded machine.
    config = press_config(duration="14s", reminders=(0.15, 0.1))
    health = listen("agency.dept-health.#", config=config)
    dic = listen("agency.dic.#", config=config)
    press = listen("agency.press-hp.#", "agency.press-thp.#", "agency.portal.#")
    container = container_factory(PressService, config)
    container.start()
    case = case_events(config)

    case.opened(text="Học sinh trường X bị ngộ độc hàng loạt sau bữa trưa hôm nay")
    assigned = case.assigned()

    [due] = health.wait_for("agency.dept-health.press.initial_info_due")
    assert due["case_id"] == case.case_id
    assert due["payload"]["agency"] == "dept-health"
    assert due["payload"]["started_at"] == assigned["occurred_at"]
    assert seconds_between(due["payload"]["started_at"], due["payload"]["due_at"]) == 14
    assert dic.wait_for("agency.dic.press.initial_info_due")

    # A redelivered assignment does not start a second clock.
    case.republish(assigned)
    reminders = health.wait_for("agency.dept-health.deadline.due_soon", count=2)
    assert sorted(r["payload"]["minutes_before"] for r in reminders) == [0.1, 0.15]
    assert len(health.wait_for("agency.dept-health.press.initial_info_due")) == 1

    # The draft prepared when the clock started (or when the case facts
    # arrived, if later): the department fills in its position and first
    # measures, its spokesperson approves, and it goes out.
    statement_id = wait_until(
        lambda: hook(container, "initial_info_status", case.case_id)["statement_id"]
    )
    hook(
        container,
        "update_draft",
        statement_id,
        {
            "leadership_position": "Lãnh đạo Sở Y tế chỉ đạo xác minh ngay.",
            "first_measures": ["Cử đoàn kiểm tra bếp ăn", "Lấy mẫu thực phẩm"],
        },
        officer("dept-health"),
    )
    hook(container, "approve_statement", statement_id, spokesperson("dept-health"))
    sent = hook(container, "distribute_statement", statement_id, officer("dept-health"))

    assert sent["status"] == "distributed"
    assert sent["initial_info"]["on_time"] is True
    for code in ("press-hp", "press-thp", "portal"):
        [copy] = press.wait_for(f"agency.{code}.press.statement_distributed")
        assert copy["payload"]["statement_id"] == statement_id
        assert "Cử đoàn kiểm tra bếp ăn" in copy["payload"]["body"]
        assert "Nguyễn Văn An" in copy["payload"]["body"]
    [met] = health.wait_for("agency.dept-health.deadline.met")
    assert met["payload"]["late"] is False

    status = hook(container, "initial_info_status", case.case_id)
    assert status["status"] == "given"
    assert status["on_time"] is True
    assert 0 < status["minutes"] < 14 / 60
    assert status["given_to"] == ["press-hp", "press-thp", "portal"]
    assert [r["fired_at"] is not None for r in status["reminders"]] == [True, True]

    # Past the due time, nothing is escalated.
    due_at = datetime.fromisoformat(due["payload"]["due_at"])
    wait_until(lambda: datetime.now(UTC) > due_at + timedelta(seconds=1), 20)
    assert "agency.dic.press.initial_info_overdue" not in dic.keys()

    report = hook(container, "compliance", {"start": "2000-01-01", "end": "2100-01-01"})
    assert (report["on_time"], report["late"], report["missing"]) == (1, 0, 0)
    assert report["by_agency"]["dept-health"]["on_time"] == 1


def test_nobody_acting_escalates_to_dic_and_a_late_statement_counts_late(
    container_factory, press_config, case_events, listen
):
    config = press_config(duration="2s", reminders=(0.02,))
    dic = listen("agency.dic.#", config=config)
    container = container_factory(PressService, config)
    container.start()
    case = case_events(config)

    case.opened(text="Bệnh viện Y từ chối cấp cứu người bệnh nặng trong đêm qua")
    case.assigned()

    [escalation] = dic.wait_for("agency.dic.press.initial_info_overdue")
    assert escalation["case_id"] == case.case_id
    assert escalation["payload"]["agency"] == "dept-health"
    assert escalation["payload"]["escalated_to"] == "dic"
    assert len(escalation["payload"]["drafts"]) == 1

    status = wait_until(
        lambda: (
            (s := hook(container, "initial_info_status", case.case_id))["status"]
            == "overdue"
            and s
        )
    )
    assert status["escalated_to"] == "dic"
    assert status["deadline_state"] == "overdue"
    report = hook(container, "compliance", {"start": "2000-01-01", "end": "2100-01-01"})
    assert report["missing"] == 1

    draft = hook(
        container,
        "draft_statement",
        case.case_id,
        "initial_info",
        officer("dept-health"),
        {
            "leadership_position": "Sở Y tế yêu cầu bệnh viện báo cáo ngay.",
            "first_measures": ["Thanh tra đột xuất bệnh viện"],
        },
    )
    hook(
        container,
        "approve_statement",
        draft["statement_id"],
        spokesperson("dept-health"),
    )
    sent = hook(
        container, "distribute_statement", draft["statement_id"], officer("dic")
    )

    assert sent["initial_info"]["on_time"] is False
    report = hook(container, "compliance", {"start": "2000-01-01", "end": "2100-01-01"})
    assert (report["on_time"], report["late"], report["missing"]) == (0, 1, 0)


def test_clock_moves_to_the_sector_department_added_later(
    container_factory, press_config, case_events, listen
):
    config = press_config(duration="1h", reminders=(30,))
    health = listen("agency.dept-health.press.initial_info_due", config=config)
    container = container_factory(PressService, config)
    container.start()
    case = case_events(config)

    case.opened(text="Tin đồn về thuốc giả bán tại nhà thuốc trên địa bàn")
    case.assigned(agencies=("dic", "police"))
    first = wait_until(
        lambda: (
            (s := _status_known(container, case.case_id))
            and s["status"] == "running"
            and s
        )
    )
    assert first["agency"] == "dic"

    case.publish(
        "case.assignment_changed",
        {
            "agency": "dept-health",
            "change": "added",
            "reason": "Sở Y tế quản lý lĩnh vực dược phẩm",
            "lead": "dic",
            "agencies": [
                {"agency": "dic", "role": "lead", "rule": "lead", "article": "7.1"},
                {
                    "agency": "police",
                    "role": "coordinating",
                    "rule": "category",
                    "article": "7.2",
                },
                {
                    "agency": "dept-health",
                    "role": "coordinating",
                    "rule": "sector",
                    "article": "7.6.c",
                },
            ],
        },
    )

    [due] = health.wait_for("agency.dept-health.press.initial_info_due")
    assert due["payload"]["started_at"] == first["started_at"]
    assert due["payload"]["due_at"] == first["due_at"]
    moved = hook(container, "initial_info_status", case.case_id)
    assert moved["agency"] == "dept-health"
    assert [item["action"] for item in moved["history"]] == ["started", "moved"]


def test_case_without_incident_starts_no_clock(
    container_factory, press_config, case_events, listen
):
    config = press_config()
    container = container_factory(PressService, config)
    container.start()
    case = case_events(config)
    watch = listen("press.#", "deadline.#", config=config)

    case.opened(text="Quảng cáo bán thuốc không rõ nguồn gốc", incident=False)
    case.assigned(incident=False)

    status = wait_until(lambda: _status_known(container, case.case_id))
    assert status["status"] == "none"
    assert status["incident"] is False
    wait_until(lambda: False, timeout=1.0)
    assert not [k for k in watch.keys() if k.startswith(("press.", "deadline."))]


def test_classified_incident_is_exempt_rather_than_missed(
    container_factory, press_config, case_events
):
    config = press_config(duration="2s", reminders=(0.01,))
    container = container_factory(PressService, config)
    container.start()
    case = case_events(config, classification="secret")

    case.opened(text="Tài liệu mật về kế hoạch bảo vệ cảng biển bị đăng lên mạng")
    case.assigned()

    status = wait_until(
        lambda: (
            (s := _status_known(container, case.case_id))
            and s["status"] != "none"
            and s
        )
    )
    assert status["status"] == "exempt"
    assert status["deadline_id"] is None
    report = hook(container, "compliance", {"start": "2000-01-01", "end": "2100-01-01"})
    assert report["exempt"] == 1
    assert report["missing"] == 0


def _status_known(container, case_id):
    from phoihop.errors import NotFound

    try:
        status = hook(container, "initial_info_status", case_id)
    except NotFound:
        return None
    if status["status"] == "none" and status["assigned_at"] is None:
        return None
    return status
