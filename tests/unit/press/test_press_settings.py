"""The press section of the configuration: the shipped file loads, and a
clock the regulation does not allow stops the service at start."""

import pytest

from phoihop.config import load_service_config
from phoihop.errors import ConfigError
from services.press.dependencies import load_reference, load_settings
from services.press.schemas import PressSettings


def test_shipped_configuration_loads_with_the_two_hour_clock():
    config = load_service_config("press", PressSettings)
    section = config["press"]
    kind = section["deadlines"]["kinds"]["initial_info"]

    assert kind["duration"] == "2h"
    assert kind["reminders_minutes"] == [60, 30]
    assert section["disclosure"]["refused_case_levels"] == ["confidential", "secret"]


def test_shipped_reference_data_has_the_press_agencies():
    reference = load_reference(load_settings({}))

    codes = [agency.code for agency in reference.registry.press_agencies()]
    assert codes == ["press-hp", "press-thp", "portal"]


def clock(duration, reminders):
    return {
        "press": {
            "deadlines": {
                "kinds": {
                    "initial_info": {
                        "duration": duration,
                        "reminders_minutes": reminders,
                    }
                }
            }
        }
    }


@pytest.mark.parametrize(
    ("duration", "reminders", "field"),
    [
        ("2wd", [30], "press.deadlines.kinds.initial_info.duration"),
        ("2h", [120], "press.deadlines.kinds.initial_info.reminders_minutes"),
        ("two hours", [30], "press.deadlines.kinds.initial_info.duration"),
    ],
    ids=["working-days", "reminder-before-start", "not-a-duration"],
)
def test_clock_the_regulation_does_not_allow_is_refused(duration, reminders, field):
    with pytest.raises(ConfigError) as refused:
        load_settings(clock(duration, reminders))

    assert field in refused.value.fields


def test_unknown_disclosure_level_is_refused():
    config = {"press": {"disclosure": {"refused_case_levels": ["top-secret"]}}}

    with pytest.raises(ConfigError) as refused:
        load_settings(config)

    assert "press.disclosure.refused_case_levels.0" in refused.value.fields
