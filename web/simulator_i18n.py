"""The simulator's own interface words in Chinese and English (message texts come from the wording catalog)."""

from __future__ import annotations

LANGUAGES = ("en", "zh")

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Cardholder simulator", "zh": "持卡人模拟器"},
    "intro": {
        "en": "Pick a demo cardholder to see their phone. Replies sent here enter the same inbound pipeline as "
              "real SMS and Telegram messages.",
        "zh": "选择一位演示持卡人即可查看其手机。在此发送的回复与真实短信和 Telegram 消息走同一条入站流程。",
    },
    "search_label": {"en": "Search by name or external id", "zh": "按姓名或外部编号搜索"},
    "search_button": {"en": "Search", "zh": "搜索"},
    "cardholders": {"en": "Cardholders", "zh": "持卡人"},
    "no_match": {"en": "No cardholder matches.", "zh": "没有匹配的持卡人。"},
    "empty_db": {
        "en": "No cardholders yet. Run `accord demo seed` or `accord import accounts FILE.csv`.",
        "zh": "暂无持卡人。请运行 `accord demo seed` 或 `accord import accounts FILE.csv`。",
    },
    "pick_prompt": {"en": "Choose a cardholder from the list.", "zh": "请从列表中选择一位持卡人。"},
    "not_found": {"en": "That cardholder does not exist.", "zh": "该持卡人不存在。"},
    "sms": {"en": "SMS", "zh": "短信"},
    "telegram": {"en": "Telegram", "zh": "Telegram"},
    "no_contact": {"en": "No contact point on this channel.", "zh": "该渠道没有联系方式。"},
    "opted_out": {"en": "Opted out on this channel.", "zh": "已在该渠道退订。"},
    "no_messages": {"en": "No messages yet.", "zh": "暂无消息。"},
    "reply_label": {"en": "Reply as the cardholder", "zh": "以持卡人身份回复"},
    "send": {"en": "Send", "zh": "发送"},
    "sent_by_me": {"en": "Sent by the cardholder", "zh": "持卡人发送"},
    "received": {"en": "Received", "zh": "收到"},
    "local_time": {"en": "Times are the cardholder's local time", "zh": "时间为持卡人当地时间"},
    "language_switch": {"en": "中文", "zh": "English"},
    # Stages outside the reminder bands have no label in config/stages.yaml.
    "stage_current": {"en": "Current", "zh": "未逾期"},
    "stage_settled": {"en": "Settled", "zh": "已结清"},
    "timezone": {"en": "Time zone", "zh": "时区"},
    "live_warning": {
        "en": "This channel is live: replies from the bot go to the real number.",
        "zh": "该渠道已接入真实服务商：机器人的回复会发送到真实号码。",
    },
    "error_empty": {"en": "Type a message first.", "zh": "请先输入消息。"},
    "error_sending": {"en": "The reply could not be sent:", "zh": "回复未能发送："},
    "threads_label": {"en": "Phone threads", "zh": "手机会话"},
}


def pick_language(value: str | None) -> str:
    return value if value in LANGUAGES else "en"


def translator(language: str) -> dict[str, str]:
    return {key: words[language] for key, words in TEXT.items()}
