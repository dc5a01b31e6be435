"""The dev tools' pure helpers (no process started): the log checks, the form answering and the
onboarding store."""

from __future__ import annotations

import json
from pathlib import Path

from devtools.flows import answer_form
from devtools.haconfig import skip_onboarding_integrations
from devtools.logs import integration_problems, leaked_secrets, log_records, onboarding_noise

LOG = """\
2026-11-22 03:12:21.028 WARNING (SyncWorker_0) [homeassistant.loader] We found a custom integration salto_ks
2026-11-22 03:12:23.948 ERROR (MainThread) [homeassistant.config_entries] Error occurred loading flow for met
Traceback (most recent call last):
  File "x.py", line 1, in <module>
ModuleNotFoundError: No module named 'metno'
2026-11-22 03:12:24.000 ERROR (MainThread) [homeassistant.config_entries] Error setting up entry Site for salto_ks
Traceback (most recent call last):
  File "/config/custom_components/salto_ks/coordinator.py", line 9, in _async_update_data
KeyError: 'locks'
2026-11-22 03:12:25.000 DEBUG (MainThread) [custom_components.salto_ks] Finished fetching roster
"""


def test_log_records_keep_tracebacks_with_their_record() -> None:
    records = log_records(LOG)
    assert len(records) == 4
    assert "No module named 'metno'" in records[1]


def test_integration_problems_are_only_ours() -> None:
    problems = integration_problems(LOG)
    assert len(problems) == 1
    assert "KeyError: 'locks'" in problems[0]


def test_onboarding_noise_finds_the_onboarding_integrations_errors() -> None:
    noise = onboarding_noise(LOG)
    assert len(noise) == 1
    assert "No module named 'metno'" in noise[0]
    assert not onboarding_noise(LOG.replace(" ERROR ", " DEBUG ").replace("Traceback", "Trace"))


def test_skip_onboarding_integrations_marks_core_config_done(tmp_path: Path) -> None:
    """A new config dir gets the store Home Assistant reads; an existing store is kept."""
    skip_onboarding_integrations(tmp_path)
    store = tmp_path / ".storage" / "onboarding"
    content = json.loads(store.read_text(encoding="utf-8"))
    assert content["key"] == "onboarding"
    assert content["data"] == {"done": ["core_config"]}
    store.write_text('{"data": {"done": ["user", "core_config"]}}', encoding="utf-8")
    skip_onboarding_integrations(tmp_path)
    assert "user" in store.read_text(encoding="utf-8")


def test_leaked_secrets_ignores_short_values() -> None:
    assert leaked_secrets("token salto-sim-secret here", ["salto-sim-secret", "abc"]) == [
        "salto-sim-secret"
    ]
    assert leaked_secrets("abc", ["abc"]) == []


def test_answer_form_by_field_name_defaults_and_first_option() -> None:
    schema = [
        {"name": "endpoint", "required": True, "default": "production"},
        {"name": "client_id", "required": True},
        {"name": "username", "required": False},
        {"name": "released_state", "required": True, "default": 5},
        {
            "name": "site_id",
            "required": True,
            "selector": {"select": {"options": [{"value": "s1", "label": "A"}, {"value": "s2"}]}},
        },
        {"name": "note", "required": False, "description": {"suggested_value": "kept"}},
    ]
    answers = {"endpoint": "custom", "client_id": "c", "username": None, "released_state": 2}
    assert answer_form(schema, answers) == {
        "endpoint": "custom",
        "client_id": "c",
        "released_state": 2,
        "site_id": "s1",
        "note": "kept",
    }
