"""The protective-states panel over HTTP, in English and Chinese: what it shows, the forms it offers, and a
refused decision coming back as a notice with the service's reason rather than an error page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.bootstrap import Container
from accord.policy_packs import pack_of
from compliance.protection import set_state
from core.protection import ProtectiveKind, SetBy
from storage.db import transaction
from storage.tables import Conversation, OutboxItem, ProtectiveState
from tests.console.seed import PASSWORD, World, seed
from web.console.desk import protection


@dataclass
class Desk:
    client: TestClient
    world: World
    container: Container


@pytest.fixture
def desk(container: Container) -> Iterator[Desk]:
    from web.app import create_app

    now = container.clock.now()
    with transaction(container.session_factory) as s:
        world = seed(s, now)
        conv = s.get(Conversation, world.conversations["us"])
        assert conv is not None
        conv.held_by = "oscar"
    with TestClient(create_app(container), base_url="http://testserver") as client:
        yield Desk(client, world, container)


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def log_in(desk: Desk, username: str, lang: str = "en") -> str:
    token = csrf(desk.client.get("/console/login").text)
    assert desk.client.post("/console/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                            follow_redirects=False).status_code == 303
    page = desk.client.get("/console/queue").text
    if lang == "zh":
        desk.client.post("/console/language", data={"language": "zh", "next": "/console/queue",
                                                     "csrf_token": csrf(page)})
    return csrf(page)


def _url(desk: Desk, key: str = "us") -> str:
    return f"/console/conversations/{desk.world.conversations[key]}"


def _seed_states(desk: Desk) -> dict[str, int]:
    """A state of each shape the panel draws: a decided one (history), one still obeyed after its decision, a
    proposal, and active ones with evidence."""
    container, world = desk.container, desk.world
    now = container.clock.now()
    pack = pack_of(container, "US")
    ids: dict[str, int] = {}
    with transaction(container.session_factory) as s:
        conv = s.get(Conversation, world.conversations["us"])
        assert conv is not None and pack is not None

        def put(kind: ProtectiveKind, at_minutes: int, **fields: object) -> int:
            form = protection.StateForm(kind=kind.value, reason=f"heard: {kind.value}", **fields)  # type: ignore[arg-type]
            state = protection.set_from_console(s, conv, form, "oscar", now - timedelta(minutes=at_minutes), pack)
            assert state is not None
            return state.id

        ids["attorney"] = put(ProtectiveKind.ATTORNEY, 30, attorney_name="Alice Counsel",
                              attorney_contact="alice@counsel.example", message_id=world.messages["us.inbound"])
        ids["payment"] = put(ProtectiveKind.PAYMENT_CLAIMED, 50)
        protection.decide(s, conv, ids["payment"], outcome="payment_not_found", reason="nothing in the ledger",
                          username="oscar", role="officer", now=now - timedelta(minutes=40), pack=pack)
        ids["dispute"] = put(ProtectiveKind.DISPUTE, 20)
        protection.decide(s, conv, ids["dispute"], outcome="dispute_rejected", reason="statement is right",
                          username="oscar", role="officer", now=now - timedelta(minutes=10), pack=pack)
        proposal = set_state(s, cardholder_id=conv.cardholder_id, kind=ProtectiveKind.VULNERABILITY,
                             set_by=SetBy.BOT, actor="bot", at=now - timedelta(minutes=5), reason="said: lost my job",
                             pack=pack, evidence={"message_id": world.messages["us.inbound"], "driver": "life_event"},
                             proposed=True)
        assert proposal is not None
        ids["proposal"] = proposal.id
        ids["third_party"] = put(ProtectiveKind.THIRD_PARTY, 1, note="a relative answered")
    return ids


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_panel_shows_every_state_with_its_evidence_history_and_decisions(desk: Desk, lang: str) -> None:
    ids = _seed_states(desk)
    log_in(desk, "oscar", lang)
    page = desk.client.get(_url(desk))
    assert page.status_code == 200
    html = page.text
    zh = lang == "zh"
    assert ("保护状态" if zh else "Protective states") in html
    assert "[prot." not in html and "[flag." not in html  # every phrase exists in this language
    attorney = html.split(f'id="state-{ids["attorney"]}"')[1].split("</article>")[0]
    assert "Alice Counsel" in attorney and "alice@counsel.example" in attorney  # the holder sees whom to call
    assert f'href="#m{desk.world.messages["us.inbound"]}"' in attorney
    assert ("律师代理" if zh else "Attorney") in attorney and "officer:oscar" in attorney
    # Attorney is lifted only by a supervisor under the US pack: the officer sees the rule and a disabled button.
    assert ("只有主管可以解除" if zh else "Only a supervisor may lift this") in attorney and "disabled" in attorney
    assert ("审计事件（1）" if zh else "Audit events (1)") in attorney
    dispute = html.split(f'id="state-{ids["dispute"]}"')[1].split("</article>")[0]
    assert ("驳回争议" if zh else "Dispute rejected") in dispute and "statement is right" in dispute
    assert ("之前仍然生效" if zh else "obeyed until") in dispute  # still in force during the validation period
    assert 'name="outcome"' not in dispute  # already decided: no buttons
    proposal = html.split(f'id="state-{ids["proposal"]}"')[1].split("</article>")[0]
    assert ("确认" if zh else "Confirm") in proposal and 'value="vulnerability_dismissed"' in proposal
    assert ("生活变故" if zh else "life event") in proposal
    history = html.split('class="prot-history"')[1].split("</details>")[0]
    assert f'id="state-{ids["payment"]}"' in history and ("未找到还款" if zh else "Payment not found") in history
    # The verification panel and the flags say what the gate will do on this address.
    assert ("对方自称非本人" if zh else "Says they are someone else") in html
    assert ("该联系方式为他人使用" if zh else "Someone else is on this address") in html
    assert ("自 2026-11-23 起由律师代理" if zh else "Represented by an attorney since 2026-11-2") in html
    assert 'id="set-kind"' in html  # the holder may set states


def test_an_officer_sets_decides_and_is_told_why_a_decision_is_refused(desk: Desk) -> None:
    token = log_in(desk, "oscar")
    url = _url(desk)
    made = desk.client.post(f"{url}/protection", data={"kind": "bankruptcy", "reason": "called from the trustee",
                                                       "case_number": "24-10001", "court": "S.D.N.Y.",
                                                       "csrf_token": token}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"].endswith("done=state_set")
    missing = desk.client.post(f"{url}/protection", data={"kind": "attorney", "reason": "r", "csrf_token": token},
                               headers={"HX-Request": "true"})
    assert missing.status_code == 422 and "an attorney needs a name and a contact" in missing.text
    with transaction(desk.container.session_factory) as s:
        state = s.scalars(select(ProtectiveState).where(ProtectiveState.kind == "bankruptcy")).one()
        state_id = state.id
        assert state.evidence["case_number"] == "24-10001"
    refused = desk.client.post(f"{url}/protection/{state_id}/decide",
                               data={"outcome": "lifted", "reason": "discharged", "csrf_token": token},
                               headers={"HX-Request": "true"})
    assert refused.status_code == 422
    assert "Not recorded: the US pack lets only a supervisor lift bankruptcy" in refused.text
    no_reason = desk.client.post(f"{url}/protection/{state_id}/decide",
                                 data={"outcome": "lifted", "reason": "", "csrf_token": token})
    assert no_reason.status_code == 422 and "a reason is required" in no_reason.text
    desk.client.post(f"{url}/protection", data={"kind": "dispute", "reason": "says the fee is wrong",
                                                "csrf_token": token})
    with transaction(desk.container.session_factory) as s:
        dispute_id = s.scalars(select(ProtectiveState.id).where(ProtectiveState.kind == "dispute")).one()
    rejected = desk.client.post(f"{url}/protection/{dispute_id}/decide", follow_redirects=False,
                                data={"outcome": "dispute_rejected", "reason": "fee per agreement",
                                      "csrf_token": token})
    assert rejected.headers["location"].endswith("done=dispute_rejected")
    page = desk.client.get(rejected.headers["location"]).text
    assert "validation notice is queued" in page and "validation notice queued" in page  # notice + audit line
    with transaction(desk.container.session_factory) as s:
        assert len(s.scalars(select(OutboxItem).where(OutboxItem.purpose == "validation_notice")).all()) == 1


def test_a_supervisor_lifts_without_holding_the_case_and_others_may_not_act(desk: Desk) -> None:
    ids = _seed_states(desk)
    url = _url(desk)
    token = log_in(desk, "olivia")  # an officer who does not hold the conversation
    page = desk.client.get(url).text
    assert 'id="set-kind"' not in page and 'name="outcome"' not in page
    assert desk.client.post(f"{url}/protection/{ids['attorney']}/decide",
                            data={"outcome": "lifted", "reason": "x", "csrf_token": token}).status_code == 409
    desk.client.post("/console/logout", data={"csrf_token": token})
    token = log_in(desk, "sam")
    lifted = desk.client.post(f"{url}/protection/{ids['attorney']}/decide", follow_redirects=False,
                              data={"outcome": "lifted", "reason": "attorney withdrew", "csrf_token": token})
    assert lifted.status_code == 303
    confirmed = desk.client.post(f"{url}/protection/{ids['proposal']}/confirm", follow_redirects=False,
                                 data={"csrf_token": token})
    assert confirmed.headers["location"].endswith("done=state_confirmed")
    with transaction(desk.container.session_factory) as s:
        attorney = s.get(ProtectiveState, ids["attorney"])
        proposal = s.get(ProtectiveState, ids["proposal"])
        assert attorney is not None and (attorney.status, attorney.lifted_by) == ("lifted", "officer:sam")
        assert proposal is not None and proposal.status == "active"
