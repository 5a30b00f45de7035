"""The DIC dashboard in headless Chromium, on the real services and broker.

An inspector signs in, a report is submitted through the API while the page
is open, and its events must appear in the live stream and the case on the
board without a reload. A screenshot is kept in var/screenshots/.
"""

import time
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from phoihop.auth import CredentialStore
from phoihop.config import PROJECT_ROOT
from phoihop.store import database_name, get_database, make_client
from phoihop.testing import free_port
from services.gateway.service import GatewayService
from services.intake.service import IntakeService
from services.reporting.service import ReportingService

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = PROJECT_ROOT / "var" / "screenshots" / "dashboard.png"
PEPPER = "dashboard-test-pepper"


@pytest.fixture
def stack(container_factory, service_config, monkeypatch, tmp_path):
    """Intake, reporting and the gateway on the test broker and database."""
    monkeypatch.setenv("PHOIHOP_API_KEY_PEPPER", PEPPER)
    config = {
        **service_config,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
        "gateway": {"stream_heartbeat_seconds": 2, "rpc_timeout_seconds": 20},
        "reporting": {"reports_dir": str(tmp_path / "reports")},
    }
    for service in (IntakeService, ReportingService, GatewayService):
        container_factory(service, config).start()

    client = make_client(config["MONGODB_URI"])
    db = get_database(client, database_name(config["DB_PREFIX"], "gateway"))
    _, key = CredentialStore(db, pepper=PEPPER.encode()).create(
        "dic", "Nguyễn Thị Thanh Tra", ["dic_inspector"], clearance="secret", days=1
    )
    yield f"http://{config['WEB_SERVER_ADDRESS']}", key
    client.close()


@pytest.fixture
def browser():
    assert CHROMIUM.exists(), "Debian's chromium is needed: apt-get install chromium"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--lang=vi-VN"):
        options.add_argument(flag)
    options.add_argument("--window-size=1440,1200")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_for(driver, condition, timeout=30, message=""):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
    except TimeoutException:
        logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
        raise AssertionError(f"{message}; browser console: {logs}") from None


def submit_report(base_url, key):
    report = {
        "reporter": {
            "kind": "agency",
            "agency": "dic",
            "officer": "Nguyễn Thị Thanh Tra",
        },
        "title": "Tin giả về dịch bệnh tại quận Hồng Bàng",
        "content_items": [
            {
                "url": "https://www.facebook.com/example.page/posts/1234567890",
                "captured_text": "Tin đồn sai sự thật về dịch bệnh đang lan truyền.",
            }
        ],
        "about": {"locality": "local-hong-bang", "text": "Tin giả về dịch bệnh"},
        "incident": True,
        "classification": "internal",
    }
    response = requests.post(
        f"{base_url}/api/v1/reports",
        json=report,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_new_event_appears_on_the_dashboard_without_reload(stack, browser):
    base_url, key = stack
    browser.get(f"{base_url}/dashboard")

    browser.find_element(By.ID, "api-key").send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait_for(
        browser,
        lambda d: (
            d.find_element(By.ID, "stream-status").get_attribute("data-state") == "open"
        ),
        message="the live stream did not open",
    )
    page_marker = browser.execute_script("return (window.pageMarker = Math.random());")

    result = submit_report(base_url, key)
    case_id = result.get("case_id") or (result.get("case") or {}).get("case_id")

    opened = wait_for(
        browser,
        lambda d: d.find_elements(
            By.CSS_SELECTOR, "#events li[data-type='case.opened']"
        ),
        message="case.opened did not reach the page",
    )
    assert "Mở vụ việc" in opened[0].text
    if case_id:
        assert case_id in opened[0].text
        wait_for(
            browser,
            lambda d: d.find_elements(
                By.CSS_SELECTOR, f"#cases tr[data-case-id='{case_id}']"
            ),
            message="the new case did not reach the case board",
        )
    # The same page, never reloaded: the marker set before the event is kept.
    assert browser.execute_script("return window.pageMarker;") == page_marker
    wait_for(
        browser,
        lambda d: d.find_element(By.ID, "total-cases").text not in ("–", "0", "?"),
        message="the counts were not refreshed",
    )
    time.sleep(0.5)

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000


def test_dashboard_asks_for_a_key_and_refuses_a_wrong_one(stack, browser):
    base_url, _ = stack
    browser.get(f"{base_url}/dashboard")

    wait_for(
        browser,
        lambda d: d.find_element(By.ID, "login").is_displayed(),
        message="the sign-in form is not shown",
    )
    browser.find_element(By.ID, "api-key").send_keys("phk_0000000000000000_wrong")
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()

    wait_for(
        browser,
        lambda d: "không hợp lệ" in d.find_element(By.ID, "login-error").text,
        message="no refusal shown",
    )
    assert not browser.find_element(By.ID, "app").is_displayed()
