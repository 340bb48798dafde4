"""The dialogue layer: NLU accuracy on the held-out split, and turn latency through the whole stack.

NLU figures, per language, on nlu/tests/heldout/<lang>.yml (never used in training), from the same servers
Accord uses; a FallbackClassifier `nlu_fallback` counts as out_of_scope, which is how the bot treats it
(scoring in bench/nlu_scoring.py). Critical intents: distress, dispute, attorney, bankruptcy, opt_out,
cease_contact, ask_human, wrong_number. Baselines are the targets.
- nlu_accuracy_<lang> (>= 0.92), nlu_oos_recall_<lang> (>= 0.90), nlu_critical_recall_<lang> (>= 0.98),
  nlu_critical_precision_<lang> (>= 0.97); nlu_benign_predicted_critical_<lang>: non-critical messages read as
  critical; nlu_f1_<lang>: macro-F1; nlu_critical_recall: both languages together. The notes carry each
  language's confusion table (critical / ordinary / out_of_scope, rows gold) and its weak intents.
- Last measured (2026-12-03, the held-out sets of the "Safe conversations" issue; README, Dialogue):
  en (828): accuracy 0.905, OOS recall 0.879, critical recall 0.961, critical precision 0.943, benign read as critical 9;
    groups (gold -> critical/ordinary/OOS): critical 201/4/1; ordinary 5/502/24; out_of_scope 4/7/80
  zh (859): accuracy 0.917, OOS recall 0.897, critical recall 0.972, critical precision 0.967, benign read as critical 5;
    groups (gold -> critical/ordinary/OOS): critical 210/2/2; ordinary 5/529/14; out_of_scope 0/10/87
- turn_p50_ms / turn_p99_ms: one inbound SMS to its last reply sent through the sandbox channel (persist, Rasa,
  actions, internal API, compliance gate, send), 20 conversations at once, each a full hardship-to-plan flow.
  The clock stops when the channel accepts the reply, which is when the cardholder has it; the gate's second
  transaction (marking it sent) comes after, and is reported as turn_overhead_to_return_ms.
  Baseline: the bare Rasa REST round trip for the same turns at the same concurrency, measured in the same run
  (it still runs the actions and Accord's internal API, which the turn needs anyway).
- turn_overhead_ms: what Accord's pipeline adds to a turn, measured per turn as the turn's time minus its own
  Rasa round trip (timed around the engine call), p50 over all turns of all rounds (ACCORD_BENCH_TURN_ROUNDS,
  default 3: each round a bare phase, then an Accord phase). Target <= 25 ms.
  turn_overhead_to_return_ms: the same up to the pipeline's return, with the sent reply recorded. The difference of the two
  phases' p50s is printed beside it; at 20 conversations on a small machine both phases' p50s are seconds of
  queueing in Rasa, so that difference mostly measures noise.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from accord.dialogue import rasa_runtime as rt
from accord.dialogue.live_stack import LiveStack, start_stack
from bench.common import BenchContext, Result
from bench.nlu_scoring import TARGETS, score_heldout
from bot.inbound import InboundMessage, pipeline_for
from compliance import gate as gate_module
from core.clock import FixedClock
from core.enums import Channel
from storage.db import migrate, transaction
from storage.tables import Account, Cardholder, ContactPoint, Conversation

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 18:00 Shanghai, 10:00 London
CONVERSATIONS = 20
ROUNDS = int(os.environ.get("ACCORD_BENCH_TURN_ROUNDS", "3"))
SCRIPT = {
    "en": ["hello, I got your text", "who is this", "I lost my job and can't pay", "4242", "1980",
           "I can afford 1500 a month", "I'll take option 1", "yes", "thank you", "bye"],
    "zh": ["你好，收到短信了", "你是谁", "我失业了，还不上", "4242", "1980", "每个月能还一千五", "我选第一个", "是的",
           "谢谢", "再见"],
}


def run(ctx: BenchContext) -> list[Result]:
    if not rt.models_ready():
        raise RuntimeError("the Rasa models are missing: run `make nlu-models` first")
    with ctx.postgres_database("accord_bench_nlu") as url:
        migrate(url)
        stack = start_stack(url, FixedClock(NOW), workdir=ctx.workdir)
        try:
            results = accuracy(stack, ctx)
            results += latency(stack, ctx)
        finally:
            stack.close()
    return results


def accuracy(stack: LiveStack, ctx: BenchContext) -> list[Result]:
    with httpx.Client(timeout=30) as client:
        scores = score_heldout(client, {lang: stack.rasa.urls[lang] for lang in rt.LANGUAGES}, stack.rasa.token)
    results = []
    for language in rt.LANGUAGES:
        s = scores.summary(language)
        # The full per-language report (targets, group confusion table, weak intents) and the commonest mistakes.
        ctx.notes.append(scores.render(language))
        ctx.notes.append(f"nlu {language} commonest mistakes: {scores.mistakes(language)}")
        results += [
            Result(f"nlu_accuracy_{language}", s["accuracy"], "accuracy", baseline=TARGETS["accuracy"]),
            Result(f"nlu_oos_recall_{language}", s["oos_recall"], "recall", baseline=TARGETS["oos_recall"]),
            Result(f"nlu_critical_recall_{language}", s["critical_recall"], "recall",
                   baseline=TARGETS["critical_recall"]),
            Result(f"nlu_critical_precision_{language}", s["critical_precision"], "precision",
                   baseline=TARGETS["critical_precision"]),
            Result(f"nlu_benign_predicted_critical_{language}", s["benign_predicted_critical"], "messages"),
            Result(f"nlu_f1_{language}", s["macro_f1"], "macro-F1"),
        ]
    results.append(Result("nlu_critical_recall", scores.critical_recall(), "recall", baseline=TARGETS["critical_recall"]))
    return results


def _seed(stack: LiveStack, prefix: str, with_conversations: bool,
          round_no: int = 0) -> list[tuple[str, str, int | None]]:
    """Cardholders for one round, half zh (CN) and half en (UK); optionally a conversation row each."""
    people = []
    with transaction(stack.container.session_factory) as session:
        for n in range(CONVERSATIONS):
            language = "zh" if n % 2 else "en"
            jurisdiction, zone, currency = ("CN", "Asia/Shanghai", "CNY") if language == "zh" else \
                ("UK", "Europe/London", "GBP")
            holder = Cardholder(external_id=f"{prefix}{round_no}-{n}", full_name="Bench Holder", language=language,
                                timezone=zone, jurisdiction=jurisdiction, card_last4="4242", birth_year=1980,
                                created_at=NOW, updated_at=NOW)
            session.add(holder)
            session.flush()
            session.add(Account(external_id=f"A-{prefix}{round_no}-{n}", cardholder_id=holder.id, product="credit_card",
                                currency=currency, balance_minor=600_000, minimum_due_minor=50_000,
                                due_date=NOW.date(), days_past_due=40, stage="dpd_30_59", created_at=NOW,
                                updated_at=NOW))
            phone = {"T": "+4477", "B": "+4478", "W": "+4479"}[prefix] + f"{round_no}{n:07d}"
            point = ContactPoint(cardholder_id=holder.id, channel="sms", address=phone, preferred=True,
                                 consent_basis="cardholder_agreement", consent_at=NOW, created_at=NOW,
                                 updated_at=NOW)
            session.add(point)
            session.flush()
            conversation_id = None
            if with_conversations:
                conversation = Conversation(cardholder_id=holder.id, contact_point_id=point.id, channel="sms",
                                            opened_at=NOW, last_message_at=NOW, cardholder_started=True)
                session.add(conversation)
                session.flush()
                conversation_id = conversation.id
            people.append((language, phone, conversation_id))
    return people


def _concurrently(work: list[Any]) -> list[float]:
    timings: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(fn: Any) -> None:
        try:
            local = fn()
        except BaseException as exc:
            errors.append(exc)
            return
        with lock:
            timings.extend(local)

    threads = [threading.Thread(target=worker, args=(fn,)) for fn in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return timings


class TimedEngine:
    """Delegates to the real dialogue engine and remembers, per thread, how long its last Rasa round trip took:
    the bare Rasa REST round trip of that very turn, under the very same load."""

    def __init__(self, engine: Any) -> None:
        self.engine, self._local = engine, threading.local()

    def handle(self, turn: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.engine.handle(turn)
        finally:
            self._local.last_ms = (time.perf_counter() - started) * 1000

    def last_ms(self) -> float:
        return float(getattr(self._local, "last_ms", 0.0))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


class SendClock:
    """Wraps the gate's one call to a channel (`compliance.gate._transmit`, unchanged otherwise) and remembers,
    per thread, when it returned: the moment a turn's reply is sent, which is what the cardholder waits for.
    Recording the provider's acceptance afterwards is bookkeeping the cardholder does not wait on; the bench
    reports it separately."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._original = gate_module._transmit

    def __enter__(self) -> SendClock:
        original = self._original

        def timed(adapter: Any, outbound: Any) -> Any:
            try:
                return original(adapter, outbound)
            finally:
                self._local.sent_at = time.perf_counter()

        gate_module._transmit = timed
        return self

    def __exit__(self, *exc: object) -> None:
        gate_module._transmit = self._original

    def sent_at(self) -> float:
        return float(getattr(self._local, "sent_at", 0.0))


def latency(stack: LiveStack, ctx: BenchContext) -> list[Result]:
    pipeline = pipeline_for(stack.container)
    engine = pipeline._dialogue = TimedEngine(pipeline._dialogue)  # the bench times the engine
    sends = SendClock()  # and when each reply went out
    counter = iter(range(1_000_000))
    added: list[float] = []  # per turn: inbound to reply sent, minus its own Rasa round trip: what Accord added
    returned: list[float] = []  # the same, up to the pipeline's return (the sent reply recorded too)
    lock = threading.Lock()

    def through_accord(language: str, phone: str) -> Any:
        def turns() -> list[float]:
            spent = []
            for text in SCRIPT[language]:
                message = InboundMessage(Channel.SMS, phone, text, NOW, f"BENCH{next(counter)}")
                start = time.perf_counter()
                result = pipeline.receive(message)
                total = (time.perf_counter() - start) * 1000
                to_reply = (sends.sent_at() - start) * 1000
                spent.append(to_reply)
                with lock:
                    added.append(to_reply - engine.last_ms())
                    returned.append(total - engine.last_ms())
                if not result.replies:
                    raise RuntimeError(f"no reply to {text!r}: {result.outcome}")
            return spent
        return turns

    def bare_rasa(language: str, conversation_id: int) -> Any:
        def turns() -> list[float]:
            spent = []
            with httpx.Client(timeout=60) as client:
                for text in SCRIPT[language]:
                    start = time.perf_counter()
                    response = client.post(f"{stack.rasa.urls[language]}/webhooks/rest/webhook",
                                           json={"sender": str(conversation_id), "message": text})
                    spent.append((time.perf_counter() - start) * 1000)
                    if response.status_code != 200 or not response.json():
                        raise RuntimeError(f"bare rasa: no reply to {text!r}")
            return spent
        return turns

    # Warm both paths once (model graphs, connection pools) so neither pays first-call costs in the figures.
    warm = _seed(stack, "W", with_conversations=False)
    with sends:
        _concurrently([through_accord(lang, phone) for lang, phone, _ in warm[:2]])
        added.clear()
        returned.clear()
        bare: list[float] = []
        turns: list[float] = []
        # Several rounds, each a bare phase then an Accord phase, pooled: one round's figures swing by a few ms
        # with how Rasa happens to queue that minute.
        for round_no in range(ROUNDS):
            bare += _concurrently([bare_rasa(lang, cid)
                                   for lang, _, cid in _seed(stack, "B", with_conversations=True, round_no=round_no)])
            turns += _concurrently([through_accord(lang, phone)
                                    for lang, phone, _ in _seed(stack, "T", False, round_no=round_no)])
    p50, p99 = _percentile(turns, 50), _percentile(turns, 99)
    b50, b99 = _percentile(bare, 50), _percentile(bare, 99)
    ctx.notes.append(f"turns: {len(turns)} through Accord, {len(bare)} bare Rasa, {CONVERSATIONS} at once, "
                     f"{ROUNDS} rounds; "
                     f"bare Rasa p50 {b50:.0f} ms p99 {b99:.0f} ms (a separate phase of the same run); "
                     f"p50 turn minus that phase's p50: {p50 - b50:.0f} ms; Accord's own share of each turn "
                     f"(inbound to reply sent, minus its Rasa round trip) p50 {_percentile(added, 50):.1f} ms, "
                     f"p99 {_percentile(added, 99):.1f} ms; up to the pipeline's return, the sent reply "
                     f"recorded too: p50 {_percentile(returned, 50):.1f} ms, p99 {_percentile(returned, 99):.1f} ms")
    return [
        Result("turn_p50_ms", p50, "ms", baseline=b50),
        Result("turn_p99_ms", p99, "ms", baseline=b99),
        # Paired per turn: two p50s of ~seconds from separate phases differ by more than 25 ms from noise alone.
        Result("turn_overhead_ms", _percentile(added, 50), "ms", baseline=25.0),
        Result("turn_overhead_p99_ms", _percentile(added, 99), "ms"),
        Result("turn_overhead_to_return_ms", _percentile(returned, 50), "ms"),
    ]


def _percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index] if pct != 50 else statistics.median(ordered)



