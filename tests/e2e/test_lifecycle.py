"""Whole case lifecycles on the real services, as processes, and the broker.

One stack for the module: every service runs as ``phoihop run <name>`` on the
run's own virtual host, the built-in adapters answer for their agencies
(``auto_answer``) through the gateway with keys issued for the test, and
each drops what it delivers as JSON lines. Each test walks one kind of case
with the officer's playbook, as the demo does, and checks what the agencies
and the press received.
"""

import io
import json
from collections import Counter

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from rich.console import Console

from phoihop.cli.demo import summary_tables
from phoihop.demo import (
    SAMPLES,
    SampleFeeder,
    Scenario,
    build_progress,
    provision_credentials,
    settle,
    triage_suggested,
    wait_for_agencies,
)
from phoihop.playbook import DIC_OFFICER, wait_until
from phoihop.testing_stack import ServiceStack

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def stack(test_env, tmp_path_factory):
    services = ServiceStack(test_env, tmp_path_factory.mktemp("e2e"))
    services.stack.env.update(provision_credentials(services.stack))
    services.start(timeout=180)
    yield services
    services.stop()


@pytest.fixture(scope="module")
def rpc(stack):
    with ClusterRpcProxy({"AMQP_URI": stack.test_env.amqp_uri}, timeout=120) as proxy:
        yield proxy


@pytest.fixture
def scenario(rpc):
    return Scenario(rpc, console=None)


def delivered(stack, agency, case_id):
    """The events an agency's adapter dropped for a case."""
    events = []
    for path in sorted((stack.workdir / "adapters").glob(f"{agency}-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            event = record.get("event", record)
            if event.get("case_id") == case_id:
                events.append(event)
    return events


def delivered_types(stack, agency, case_id):
    return {event["type"] for event in delivered(stack, agency, case_id)}


def walk(scenario, kind):
    case = scenario.submit(kind)
    getattr(scenario, f"walk_{kind}")(case)
    return case


def test_scam_goes_from_report_to_closed_with_police_taking_part(stack, rpc, scenario):
    case = walk(scenario, "scam")

    final = rpc.consultation.get_case(case.case_id, {"agency": "dic", "officer": "t"})
    assert final["state"] == "closed"
    assert "CYBER2018-18.1.b" in final["decision"]["legal_basis"]
    assert {m["agency"] for m in final["measures"]} == {"dic", "police"}
    assert all(m["result"] for m in final["measures"])
    police = wait_until(
        "the police adapter's copies",
        lambda: (
            delivered_types(stack, "police", case.case_id)
            >= {"case.assigned", "consultation.opinion_requested", "measure.assigned"}
        ),
        60,
    )
    assert police


def test_incident_gives_initial_information_to_the_press_within_two_hours(
    stack, rpc, scenario
):
    case = walk(scenario, "incident")

    status = rpc.press.initial_info_status(case.case_id)
    assert status["status"] in ("given", "met", "on_time")
    assert status["on_time"] is True
    for press in ("press-hp", "press-thp", "portal"):
        wait_until(
            f"{press} to receive the statement",
            lambda press=press: (
                "press.statement_distributed"
                in delivered_types(stack, press, case.case_id)
            ),
            60,
        )


def test_state_secret_case_is_secret_and_redacted_for_agencies_without_clearance(
    stack, rpc, scenario
):
    case = scenario.submit("secret")
    scenario.walk_secret(case, observers=["journalists"])

    final = rpc.consultation.get_case(case.case_id, {"agency": "dic", "officer": "t"})
    assert final["state"] == "closed"
    board = rpc.reporting.get_case(case.case_id)
    assert board["classification"] == "secret"
    copies = wait_until(
        "the journalists' copy",
        lambda: delivered(stack, "journalists", case.case_id),
        60,
    )
    text = json.dumps(copies, ensure_ascii=False)
    assert "MẬT" not in text
    assert "taikhoanx" not in text


def test_criticism_is_rejected_under_article_4_2(rpc, scenario):
    case = walk(scenario, "criticism")

    final = rpc.consultation.get_case(case.case_id, {"agency": "dic", "officer": "t"})
    assert final["state"] == "rejected"
    assert final["appraisal"]["outcome"] == "does_not_violate"
    assert "Điều 4.2" in final["appraisal"]["art_4_2_consideration"]


def test_escalation_reaches_the_city_and_its_answer_sends_the_case_on(
    stack, rpc, scenario
):
    case = walk(scenario, "escalation")

    [escalation] = rpc.routing.get_assignments(case.case_id)["escalations"]
    assert escalation["to"] == "city"
    assert escalation["outcome"]
    wait_until(
        "the city adapter's copy",
        lambda: "case.escalated" in delivered_types(stack, "city", case.case_id),
        60,
    )


def test_removal_proposal_goes_to_the_ministry(stack, rpc, scenario):
    case = walk(scenario, "ministry")

    [escalation] = rpc.routing.get_assignments(case.case_id)["escalations"]
    assert escalation["to"] == "ministry"
    assert "7.1.g" in (escalation.get("article") or "")
    wait_until(
        "the ministry adapter's copy",
        lambda: "case.escalated" in delivered_types(stack, "ministry", case.case_id),
        60,
    )


def test_a_second_run_opens_new_cases_and_leaves_open_ones_alone(stack, rpc):
    first, second = Scenario(rpc, console=None), Scenario(rpc, console=None)
    first.walk_kind("ministry")
    first.walk_kind("criticism")
    # As between two runs: intake has followed where the cases went.
    for walk in first.walks:
        wait_until(
            f"intake following {walk.case_id} to {walk.state}",
            lambda walk=walk: rpc.intake.get_case(walk.case_id)["state"] == walk.state,
            60,
        )

    second.walk_kind("ministry")
    second.walk_kind("criticism")

    assert first.failed == second.failed == []
    (old_ministry, old_criticism), (ministry, criticism) = first.walks, second.walks
    # The removal proposal is still with the Ministry: the same report
    # joins that case, which is not walked a second time.
    assert ministry.case_id == old_ministry.case_id
    assert ministry.state == "escalated"
    assert any(
        words in ministry.steps[-1] for words in ("lần chạy trước", "earlier run")
    )
    # The rejected case is over: the same report opens a new case.
    assert criticism.case_id != old_criticism.case_id
    assert criticism.state == old_criticism.state == "rejected"


def test_demo_triages_the_cases_it_opened_and_no_one_elses(stack, rpc):
    feeder = SampleFeeder(rpc, console=None)
    progress = build_progress(Console(file=io.StringIO()))
    feeder.feed_each(progress, "stix/*.json", "stix")
    foreign = rpc.intake.submit_report(
        {
            "reporter": {"kind": "citizen"},
            "content_items": [{"url": "https://www.facebook.com/nguoikhac/posts/9"}],
        },
        DIC_OFFICER,
    )

    confirmed = triage_suggested(
        rpc, Console(file=io.StringIO()), progress, feeder.opened
    )

    assert feeder.opened and confirmed == len(feeder.opened)
    assert rpc.intake.get_case(foreign["case_id"])["state"] == "received"
    for case_id in feeder.opened:
        assert rpc.intake.get_case(case_id)["state"] != "received"


def test_demo_summary_accounts_for_every_sample_email(stack, rpc, scenario):
    # The demo ends with these tables; they read the services' real answers.
    feeder = SampleFeeder(rpc, console=None)
    progress = build_progress(Console(file=io.StringIO()))
    feeder.feed_each(progress, "email/*.eml", "email", binary=True)
    emails = sorted(SAMPLES.glob("email/*.eml"))
    # As the demo does before it walks its cases.
    assert wait_for_agencies(rpc, stack.test_env.amqp_uri, progress, 120) == 0
    walk(scenario, "criticism")
    settle(rpc)

    console = Console(file=io.StringIO(), width=240, record=True)
    for table in summary_tables(rpc, feeder, scenario.walks):
        console.print(table)
    text = console.export_text()

    assert len(emails) == sum(feeder.inputs.values())
    taken = Counter()
    for outcomes in feeder.by_source.values():
        taken.update(outcomes)
    # Each email became a report or was quarantined with its reason.
    outcomes = ("opened", "attached", "duplicate", "quarantined")
    assert sum(taken[key] for key in outcomes) == len(emails)
    assert "Sở Thông tin và Truyền thông (Thanh tra Sở)" in text
    # The rejected case, by its Vietnamese state, in the scenario table.
    assert "Không vi phạm" in text
    # The criticism case's opinion clock, by its Vietnamese name.
    assert "Gửi ý kiến bằng văn bản" in text
    assert "written_opinion" not in text
    assert "email/*.eml" in text
