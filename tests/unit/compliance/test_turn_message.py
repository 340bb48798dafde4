"""Packing a turn's replies into messages (compliance/turn_message.py): greedy, in order, never splitting a part."""

from __future__ import annotations

from compliance.contract import Check, Decision, MessagePart, SendRequest
from compliance.turn_message import combinable, fits_channel, greedy, merge, parts_of, runs, within_length
from core.enums import Channel, DecisionOutcome, MessagePurpose


def packed(parts: list[str], limit: int, sep: str = " ") -> list[list[str]]:
    return list(greedy(parts, lambda group: len(sep.join(group)) <= limit))


def test_parts_join_while_the_whole_fits_and_split_only_at_the_limit() -> None:
    assert packed(["aaaa", "bbbb", "cccc"], 14) == [["aaaa", "bbbb", "cccc"]]  # 14 characters exactly
    assert packed(["aaaa", "bbbb", "cccc"], 13) == [["aaaa", "bbbb"], ["cccc"]]
    assert packed(["aaaa", "bbbb", "cccc"], 4) == [["aaaa"], ["bbbb"], ["cccc"]]


def test_order_is_kept_even_when_a_later_part_would_fill_an_earlier_message() -> None:
    # Greedy in order: "c" would fit after "a", but it never jumps ahead of "bbbbbbbb".
    groups = packed(["a", "bbbbbbbb", "c"], 9)
    assert groups == [["a"], ["bbbbbbbb"], ["c"]]  # "a bbbbbbbb" and "bbbbbbbb c" are 10 each
    assert packed(["a", "bbbbbbbb", "c", "d"], 9) == [["a"], ["bbbbbbbb"], ["c", "d"]]


def test_a_part_longer_than_the_limit_goes_alone_and_unsplit() -> None:
    assert packed(["aa", "x" * 50, "bb", "cc"], 10) == [["aa"], ["x" * 50], ["bb", "cc"]]
    assert packed(["x" * 50], 10) == [["x" * 50]]
    assert packed([], 10) == []


def test_fits_is_never_asked_about_a_single_part_and_each_message_is_settled_before_the_next_is_measured() -> None:
    asked: list[list[int]] = []
    settled: list[list[int]] = []

    def fits(group: list[int]) -> bool:
        asked.append(list(group))
        # The gate measures against the messages before: they must already be settled.
        assert all(part not in group for done in settled for part in done)
        return len(group) <= 2

    for group in greedy(range(5), fits):
        settled.append(group)
    assert settled == [[0, 1], [2, 3], [4]]
    assert asked == [[0, 1], [0, 1, 2], [2, 3], [2, 3, 4]]


def test_sms_limits_count_segments_of_the_whole_text() -> None:
    assert fits_channel("a" * 459, Channel.SMS, max_segments=3, max_chars=4096)  # 3 x 153 GSM-7 septets
    assert not fits_channel("a" * 460, Channel.SMS, max_segments=3, max_chars=4096)
    assert fits_channel("方" * 201, Channel.SMS, max_segments=3, max_chars=4096)  # 3 x 67 UCS-2 units
    assert not fits_channel("方" * 202, Channel.SMS, max_segments=3, max_chars=4096)
    assert fits_channel("a" * 4096, Channel.TELEGRAM, max_segments=3, max_chars=4096)
    assert not fits_channel("a" * 4097, Channel.TELEGRAM, max_segments=3, max_chars=4096)


def reply(template: str, purpose: MessagePurpose = MessagePurpose.BOT_REPLY, **kw: object) -> SendRequest:
    fields: dict[str, object] = {"channel": Channel.SMS, "account_id": 7, "conversation_id": 3, "contact_point_id": 5,
                                 **kw}
    return SendRequest(cardholder_id=1, purpose=purpose, template_id=template, author="bot",
                       **fields)  # type: ignore[arg-type]


def test_consecutive_replies_of_one_purpose_form_runs_and_an_acknowledgement_stays_apart() -> None:
    ack = reply("protection.attorney_noted", MessagePurpose.STATE_ACKNOWLEDGEMENT)
    turn = [reply("a"), reply("b"), ack, reply("c"), reply("d", language="zh")]
    assert [[r.template_id for r in run] for run in runs(turn)] == [["a", "b"], ["protection.attorney_noted"],
                                                                    ["c"], ["d"]]
    assert not combinable(reply("a"), reply("b", outbox_id=9))
    assert not combinable(reply("a"), reply("b", free_text="hello"))
    assert not combinable(reply("a"), reply("b", channel=Channel.TELEGRAM))


def test_merge_keeps_every_template_and_its_params_in_order() -> None:
    one = reply("a", params={"x": 1})
    assert merge([one]) is one
    merged = merge([one, reply("b", params={"y": 2}), reply("c")])
    assert [(p.template_id, p.params) for p in merged.parts] == [("a", {"x": 1}), ("b", {"y": 2}), ("c", {})]
    assert merged.template_id == "a" and merged.params == {"x": 1}
    assert merged.extra_parts == (MessagePart("b", {"y": 2}), MessagePart("c", {}))
    # Merging messages that already hold parts flattens them, in order.
    again = merge([merged, reply("d")])
    assert [p.template_id for p in again.parts] == ["a", "b", "c", "d"]


def test_within_length_reads_the_length_check_and_a_message_that_did_not_render_fits() -> None:
    def decision(*checks: Check) -> Decision:
        return Decision(DecisionOutcome.ALLOW, (), checks, "CN", "1", {}, None, None)

    assert within_length(decision(Check("CN.length", True, "3 SMS segment(s)")), "CN.length")
    assert not within_length(decision(Check("CN.length", False, "4 SMS segment(s)", "too_long")), "CN.length")
    assert within_length(decision(Check("CN.privacy", False, "no", "not_verified")), "CN.length")


def test_parts_of_a_recorded_message() -> None:
    assert parts_of({"parts": [{"template_id": "a", "version": 1}, {"template_id": "b", "version": 2}]}, "a") == [
        "a", "b"]
    assert parts_of({}, "a") == ["a"] and parts_of(None, None) == []
