"""The HTTP control API under /_sim/, one operation after another."""

from __future__ import annotations

from simulator import Simulator

from .conftest import Api, lock_by_name


async def test_locks_and_iqs_over_http(api: Api, salto_sim: Simulator) -> None:
    created = await api.control("POST", "/iqs", {"name": "IQ 02", "otp_enabled": True})
    assert created.status == 201
    iq_id = created.json()["id"]
    otp = (await api.control("GET", f"/iqs/{iq_id}/otp")).json()["otp"]
    assert otp == salto_sim.valid_otp(iq_id)
    assert (await api.control("PATCH", f"/iqs/{iq_id}", {"signal_strength": 3})).status == 200
    iq = (await api.get(api.site(f"/iqs/{iq_id}"))).json()
    assert iq["signal_strength"] == 3
    assert iq["otp_enabled"] is True

    lock = await api.control(
        "POST", "/locks", {"name": "Garage", "iq_id": iq_id, "lock_type": "wall_reader_pin"}
    )
    assert lock.status == 201
    lock_id = lock.json()["id"]
    patched = await api.control(
        "PATCH", f"/locks/{lock_id}", {"battery_level": "low", "online": False}
    )
    assert patched.status == 200
    body = (await api.get(api.site(f"/locks/{lock_id}"))).json()
    assert (body["customer_reference"], body["battery_level"], body["online"]) == (
        "Garage",
        "low",
        False,
    )
    assert body["iq"]["id"] == iq_id

    assert (await api.control("DELETE", f"/iqs/{iq_id}")).status == 200
    detached = (await api.get(api.site(f"/locks/{lock_id}"))).json()
    assert detached["iq"] is None
    assert detached["iq_link_state"] == "detached"
    assert (await api.control("DELETE", f"/locks/{lock_id}")).status == 200
    assert (await api.get(api.site(f"/locks/{lock_id}"))).status == 404
    assert (await api.control("DELETE", f"/locks/{lock_id}")).status == 404


async def test_users_over_http(api: Api, salto_sim: Simulator) -> None:
    created = await api.control(
        "POST", "/users", {"first_name": "Zoe", "last_name": "Zed", "roles": ["site_mobile_user"]}
    )
    assert created.status == 201
    site_user = created.json()
    assert site_user["user"]["first_name"] == "Zoe"
    assert site_user["roles"][0]["code"] == "site_mobile_user"
    patched = await api.control(
        "PATCH", f"/users/{site_user['id']}", {"blocked": True, "alias": "Z"}
    )
    assert patched.json()["blocked"] is True
    users = (await api.get(api.site("/users"))).json()["items"]
    assert any(u["id"] == site_user["id"] and u["alias"] == "Z" for u in users)
    assert (await api.control("DELETE", f"/users/{site_user['id']}")).status == 200
    users = (await api.get(api.site("/users"))).json()["items"]
    assert all(u["id"] != site_user["id"] for u in users)
    bad = await api.control(
        "POST", "/users", {"first_name": "A", "last_name": "B", "roles": ["king"]}
    )
    assert bad.status == 400
    assert "role" in bad.json()["error"]


async def test_entries_and_events_over_http(api: Api, salto_sim: Simulator) -> None:
    lock_id = lock_by_name(salto_sim, "Front Door")
    row = await api.control(
        "POST",
        "/entries",
        {
            "lock_id": lock_id,
            "event_category": "lock_opened",
            "access_by": "tag",
            "utc": "2026-01-02T03:04:05Z",
        },
    )
    assert row.status == 201
    assert row.json()["utc_date_time"] == "2026-01-02T03:04:05Z"
    assert row.json()["local_date_time"] == "2026-01-02T04:04:05"
    event = await api.control("POST", "/events", {"kind": "door_left_open", "lock_id": lock_id})
    assert event.status == 201
    assert event.json()["event_category"] == "door_left_open"
    assert salto_sim.state.locks[lock_id].left_open_alarm is True
    wrong = await api.control("POST", "/events", {"kind": "explode", "lock_id": lock_id})
    assert wrong.status == 400
    missing = await api.control("POST", "/entries", {"lock_id": "nope", "event_category": "x"})
    assert missing.status == 404


async def test_faults_counters_tokens_over_http(api: Api, salto_sim: Simulator) -> None:
    token = await api.login()
    added = await api.control("POST", "/faults", {"endpoint": "sites", "kind": 503, "times": 1})
    assert added.status == 201
    assert added.json()["faults"][0]["kind"] == "503"
    assert (await api.get("/v1.2/sites")).status == 503
    await api.control("POST", "/faults", {"endpoint": "locks", "kind": "500"})
    assert (await api.control("DELETE", "/faults")).status == 200
    assert salto_sim.faults.faults == []
    assert (await api.get(api.site("/locks"))).status == 200
    counters = (await api.control("GET", "/counters")).json()
    assert counters == {"token": 1, "sites": 1, "locks": 1}
    assert (await api.control("POST", "/counters/reset")).status == 200
    assert (await api.control("GET", "/counters")).json() == {}
    assert (await api.control("POST", "/tokens/expire")).status == 200
    assert (await api.get("/v1.2/sites", token=token)).status == 401
    bad = await api.control("POST", "/faults", {"endpoint": "sites", "kind": "teapot"})
    assert bad.status == 400


async def test_tenant_credentials_state_over_http(api: Api, salto_sim: Simulator) -> None:
    defaults = (await api.control("GET", "/tenant")).json()
    assert {k: defaults[k] for k in ("profile", "refresh_tokens", "offline_answer")} == {
        "profile": "connect",
        "refresh_tokens": False,
        "offline_answer": "422",
    }
    assert defaults["users_envelope"] == "items"
    # A legacy audit path needs the legacy profile; a refused change changes nothing.
    refused = await api.control("PATCH", "/tenant", {"audit_path": "audit/log", "grants": []})
    assert refused.status == 400
    assert "profile" in refused.json()["error"]
    assert salto_sim.tenant.grants == {"password", "refresh_token", "authorization_code"}
    tenant = await api.control(
        "PATCH",
        "/tenant",
        {
            "profile": "legacy",
            "audit_path": "audit/log",
            "grants": ["password"],
            "refresh_tokens": True,
            "offline_answer": "403",
            "users_envelope": "array",
        },
    )
    assert tenant.status == 200
    assert tenant.json()["grants"] == ["password"]
    assert salto_sim.tenant.audit_path == "audit/log"
    assert salto_sim.tenant.legacy
    assert salto_sim.tenant.refresh_tokens is True
    assert (salto_sim.tenant.offline_answer, salto_sim.tenant.users_envelope) == ("403", "array")
    for bad in (
        {"audit_path": "elsewhere"},
        {"colour": "red"},
        {"profile": "modern"},
        {"offline_answer": "500"},
        {"users_envelope": "xml"},
        {"profile": "connect"},  # audit_path is still audit/log
    ):
        assert (await api.control("PATCH", "/tenant", bad)).status == 400, bad
    assert (await api.control("GET", "/tenant")).json()["audit_path"] == "audit/log"

    creds = (await api.control("GET", "/credentials")).json()
    assert creds["client_id"] == salto_sim.client_id
    assert creds["auth_url"] == salto_sim.url + "/connect/token"
    assert (await api.control("POST", "/credentials", {"password": "changed"})).status == 200
    assert salto_sim.password == "changed"
    await api.login()

    state = (await api.control("GET", "/state")).json()
    assert state["scenario"] == "small"
    assert len(state["locks"]) == 3
    assert len(state["iqs"]) == 1
    assert "otp" in state["iqs"][0]
    assert len(state["users"]) == 3
    assert state["entries"][salto_sim.site_id] == 3
    assert (await api.control("POST", "/sites", {"name": "Annex"})).status == 201
    assert len(salto_sim.state.sites) == 2
    not_json = await api.session.post(salto_sim.url + "/_sim/locks", data=b"{nope")
    assert not_json.status == 400
    not_json.release()
