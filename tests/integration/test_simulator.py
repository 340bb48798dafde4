"""The cardholder simulator: picking, phone threads as the phone saw them, replies into the real pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from core.clock import FixedClock
from storage.db import make_engine, transaction
from storage.tables import Cardholder, ContactPoint, Escalation, Message
from tests import builders
from tests.fakes.gate import AllowingGate
from web.app import create_app

MODULES = ("web.health", "web.simulator")


@pytest.fixture
def app(container: Container, clock: FixedClock) -> Container:
    container.extras["gate"] = AllowingGate(container.session_factory, clock, container.extras["channels"])
    with transaction(container.session_factory) as session:
        builders.cardholder(session, clock.now(), external_id="DEMO-0001", full_name="Ana Ruiz")
        builders.cardholder(session, clock.now(), external_id="DEMO-0002", full_name="王芳", language="zh",
                            timezone="Asia/Shanghai", jurisdiction="CN", phone="+8613812345678", chat_id=None,
                            stage="dpd_30_59", days_past_due=35)
    return container


@pytest.fixture
def client(app: Container) -> Iterator[TestClient]:
    with TestClient(create_app(app, modules=MODULES)) as test_client:
        yield test_client


def holder_id(app: Container, external_id: str) -> int:
    with app.session_factory() as session:
        return session.scalars(select(Cardholder.id).where(Cardholder.external_id == external_id)).one()


def add_outbound(app: Container, cardholder_id: int, channel: str, text: str, status: str, at: object) -> None:
    with transaction(app.session_factory) as session:
        point = session.scalars(select(ContactPoint).where(ContactPoint.cardholder_id == cardholder_id,
                                                           ContactPoint.channel == channel)).one()
        session.add(Message(cardholder_id=cardholder_id, contact_point_id=point.id, channel=channel,
                            direction="outbound", status=status, purpose="reminder", author="scheduler",
                            template_id="reminder.gentle", text=text, created_at=at,
                            sent_at=at if status in ("sent", "delivered") else None))


def test_the_page_lists_cardholders_and_searches_by_name_or_id(client: TestClient) -> None:
    page = client.get("/simulator")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Ana Ruiz" in page.text and "王芳" in page.text and "DEMO-0002" in page.text
    assert "30-59 days past due" in page.text  # the stage label from config/stages.yaml

    assert "王芳" not in client.get("/simulator", params={"q": "ana"}).text
    only_wang = client.get("/simulator", params={"q": "demo-0002"}).text
    assert "王芳" in only_wang and "Ana Ruiz" not in only_wang
    assert "No cardholder matches" in client.get("/simulator", params={"q": "%_"}).text


def test_threads_show_only_what_the_phone_received_in_local_time(app: Container, client: TestClient,
                                                                 clock: FixedClock) -> None:
    wang = holder_id(app, "DEMO-0002")
    add_outbound(app, wang, "sms", "您的账单已逾期", "delivered", clock.now())  # 02:00Z is 10:00 in Shanghai
    add_outbound(app, wang, "sms", "BLOCKED-AT-QUIET-HOURS", "blocked", clock.now())
    add_outbound(app, wang, "sms", "DEFERRED-UNTIL-MORNING", "deferred", clock.now())

    page = client.get("/simulator", params={"cardholder": wang}).text
    assert "您的账单已逾期" in page and "11-23 10:00" in page
    assert "BLOCKED-AT-QUIET-HOURS" not in page and "DEFERRED-UNTIL-MORNING" not in page
    assert "No contact point on this channel." in page  # no Telegram chat for this cardholder
    threads = client.get(f"/simulator/cardholders/{wang}/threads").json()
    assert set(threads) == {"sms", "telegram"}
    assert "您的账单已逾期" in threads["sms"] and "BLOCKED" not in threads["sms"]


def test_a_reply_enters_the_inbound_pipeline_and_the_answer_appears(app: Container, client: TestClient) -> None:
    ana = holder_id(app, "DEMO-0001")
    response = client.post(f"/simulator/cardholders/{ana}/reply", data={"channel": "telegram", "text": "hi there"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.json()["outcome"] == "handed_to_officer"  # no dialogue engine wired: an officer answers
    assert response.json()["replies"] == ["sent"]

    threads = client.get(f"/simulator/cardholders/{ana}/threads").json()
    assert "hi there" in threads["telegram"] and "[holding.reply]" in threads["telegram"]
    assert "hi there" not in threads["sms"]
    with app.session_factory() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "inbound")).one()
        assert inbound.provider_message_id.startswith("SIM-") and inbound.channel == "telegram"
        assert session.scalars(select(Escalation)).one().reason == "dialogue_unavailable"


def test_a_plain_form_post_works_without_javascript(app: Container, client: TestClient) -> None:
    ana = holder_id(app, "DEMO-0001")
    response = client.post(f"/simulator/cardholders/{ana}/reply", data={"channel": "sms", "text": "STOP"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/simulator?cardholder={ana}&lang=en"
    page = client.get(response.headers["location"]).text
    assert "[opt_out.confirmation]" in page and "Opted out on this channel." in page


def test_message_text_is_escaped_so_a_script_stays_inert(app: Container, client: TestClient,
                                                         clock: FixedClock) -> None:
    ana = holder_id(app, "DEMO-0001")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client.post(f"/simulator/cardholders/{ana}/reply", data={"channel": "sms", "text": evil},
                headers={"Accept": "application/json"})
    add_outbound(app, ana, "sms", "</p><script>document.title='pwned'</script>", "sent",
                 clock.now() + timedelta(minutes=1))
    for html in (client.get("/simulator", params={"cardholder": ana}).text,
                 client.get(f"/simulator/cardholders/{ana}/threads").json()["sms"]):
        assert "<script>alert" not in html and "<img src=x" not in html and "<script>document" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    with transaction(app.session_factory) as session:
        session.get_one(Cardholder, ana).full_name = "<b>Bold</b>"
    assert "&lt;b&gt;Bold&lt;/b&gt;" in client.get("/simulator").text


@pytest.mark.parametrize(
    ("data", "status", "detail"),
    [
        ({"channel": "sms", "text": "   "}, 422, "Type a message first."),
        ({"channel": "fax", "text": "hi"}, 422, "channel: unknown channel"),
        ({"channel": "sms", "text": "x" * 5000}, 422, "text: longer than 4096"),
    ],
)
def test_bad_replies_get_a_clear_error_and_store_nothing(app: Container, client: TestClient, data: dict[str, str],
                                                         status: int, detail: str) -> None:
    ana = holder_id(app, "DEMO-0001")
    response = client.post(f"/simulator/cardholders/{ana}/reply", data=data, headers={"Accept": "application/json"})
    assert response.status_code == status and detail in response.json()["detail"]
    with app.session_factory() as session:
        assert session.scalars(select(Message)).all() == []


def test_a_channel_without_a_contact_point_cannot_be_replied_on(app: Container, client: TestClient) -> None:
    wang = holder_id(app, "DEMO-0002")
    response = client.post(f"/simulator/cardholders/{wang}/reply", data={"channel": "telegram", "text": "hi"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 409


def test_unknown_cardholders_are_404(client: TestClient) -> None:
    assert client.get("/simulator", params={"cardholder": 999999}).status_code == 404
    assert client.get("/simulator/cardholders/999999/threads").status_code == 404
    response = client.post("/simulator/cardholders/999999/reply", data={"channel": "sms", "text": "hi"})
    assert response.status_code == 404


def test_a_cross_site_post_is_refused(app: Container, client: TestClient) -> None:
    ana = holder_id(app, "DEMO-0001")
    response = client.post(f"/simulator/cardholders/{ana}/reply", data={"channel": "sms", "text": "hi"},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    same = client.post(f"/simulator/cardholders/{ana}/reply", data={"channel": "sms", "text": "hi"},
                       headers={"Origin": "http://testserver", "Accept": "application/json"})
    assert same.status_code == 200


def test_the_interface_speaks_chinese_on_request(app: Container, client: TestClient) -> None:
    wang = holder_id(app, "DEMO-0002")
    page = client.get("/simulator", params={"cardholder": wang, "lang": "zh"}).text
    assert '<html lang="zh-Hans">' in page and "持卡人模拟器" in page and "逾期30-59天" in page
    assert "English" in page  # the switch back
    assert '<html lang="en">' in client.get("/simulator", params={"lang": "xx"}).text


def test_the_page_is_accessible_markup(app: Container, client: TestClient) -> None:
    ana = holder_id(app, "DEMO-0001")
    page = client.get("/simulator", params={"cardholder": ana}).text
    assert 'aria-live="polite"' in page and 'role="search"' in page and '<main id="main"' in page
    assert '<label for="reply-sms"' in page and 'id="reply-sms"' in page
    assert 'src="/static/simulator/simulator.js"' in page and "https://" not in page  # nothing from a CDN
    assert client.get("/static/simulator/simulator.js").status_code == 200
    assert client.get("/static/simulator/simulator.css").status_code == 200


def test_not_mounted_in_production(db_url: str, clock: FixedClock, config_dir: object) -> None:
    settings = Settings(accord_env="production", database_url="postgresql://accord@db/accord",
                        accord_secret_key="s" * 40, accord_internal_api_token="t" * 40,
                        accord_config_dir=config_dir, _env_file=None)  # type: ignore[call-arg]
    container = bootstrap(settings, clock=clock, engine=make_engine(db_url))
    try:
        with TestClient(create_app(container, modules=MODULES)) as client:
            assert client.get("/simulator").status_code == 404
            assert client.get("/healthz").status_code == 200
    finally:
        container.close()
