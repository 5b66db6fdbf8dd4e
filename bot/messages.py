"""Every shopper-facing text the bot service and the socket.io channel write, in English and Chinese.

One table per audience, the same keys in both languages (tests/bot/test_language.py checks the parity and
the placeholders):

- ``SHOPPER``: what reaches the shopper's chat as a notice (an agent joined, back with the assistant, the
  queue timed out and its buttons, refused messages);
- ``WIDGET``: the widget's own strings (labels, banner, status lines); the shop page hands both languages
  to bot/static/widget.js in its config, and the widget picks one (page language, then the conversation's);
- ``SHOP_PAGE``: the demo shop page (``/`` and ``/zh``);
- ``CANNED_VALUES``: what a canned reply's ``{shop_name}`` and ``{order_status}`` say (bot.canned_api).

Standard library only: the Rasa channel (Python 3.10) imports it. The agent console's own UI stays English.
Chinese is Simplified; product names, ids and the brand name stay as they are.
"""

from __future__ import annotations

from bot.language import DEFAULT_LANGUAGE, Language, normalize_language

SHOPPER: dict[Language, dict[str, str]] = {
    "en": {
        "agent_joined": "{name} from our support team has joined the chat.",
        "transferred_to_agent": "You are now chatting with {name}.",
        "back_in_queue": "Another member of our team will be with you shortly.",
        "back_to_bot": "You are back with the assistant. Is there anything else I can help you with?",
        "queue_timed_out": (
            "I'm sorry, nobody from our support team could take your conversation in time. "
            "Would you like to leave a message with your email address? Our team will reply by email."
        ),
        "leave_message": "Leave a message",
        "no_thanks": "No, thanks",
        "too_long": "That message is too long ({size} characters; the limit is {limit}). Please shorten it.",
        "too_fast": "You are sending messages very quickly. Please wait a moment before sending more.",
        "not_allowed": "I can't accept that message: {problem}.",
    },
    "zh": {
        "agent_joined": "客服{name}已加入对话。",
        "transferred_to_agent": "现在由客服{name}为您服务。",
        "back_in_queue": "我们团队的其他成员很快就会为您服务，请稍候。",
        "back_to_bot": "您已回到智能助手。还有什么可以帮您的吗？",
        "queue_timed_out": (
            "非常抱歉，我们的客服人员未能及时接待您。您愿意留下邮箱地址和留言吗？我们的团队会通过邮件回复您。"
        ),
        "leave_message": "留言",
        "no_thanks": "不用了，谢谢",
        "too_long": "这条消息太长了（{size} 个字符，上限为 {limit} 个）。请缩短后再发送。",
        "too_fast": "您发送消息的速度太快了，请稍等片刻再发送。",
        # the problem is an English technical detail (rasa_addons.payloads): not shown in Chinese
        "not_allowed": "无法接受这条消息：以“/”开头的指令只能通过按钮发送，请直接用文字描述您的问题。",
    },
}

# Placeholders a Chinese text may leave out (English-only technical detail), per key.
ENGLISH_ONLY_PLACEHOLDERS: dict[str, frozenset[str]] = {"not_allowed": frozenset({"problem"})}

WIDGET: dict[Language, dict[str, str]] = {
    "en": {
        "launcher": "Chat",
        "launcher_label": "Open chat with ShopDesk support",
        "panel_label": "ShopDesk chat",
        "title": "ShopDesk support",
        "close_label": "Close chat",
        "log_label": "Conversation",
        "typing_label": "The assistant is typing",
        "input_label": "Type your message",
        "placeholder": "Type your message…",
        "send": "Send",
        "send_label": "Send message",
        "agent_banner": "You are chatting with {name} (a person).",
        "our_team": "our support team",
        "queued_banner": "Waiting for a person from our support team…",
        "agent": "Agent",
        "agent_byline": "{name} · support team",
        "replies_label": "Suggested replies",
        "cards_label": "Product suggestions",
        "card_label": "{index} of {count}: {title}",
        "previous_products": "Previous products",
        "next_products": "Next products",
        "image_alt": "Image from the assistant",
        "connection_lost": "Connection lost — reconnecting…",
        "unreachable": "Cannot reach the assistant — retrying…",
        "agent_typing": "{name} is typing…",  # bot/static/widget_typing.js, docs/console/typing.md
        # the rating card (bot/static/widget_csat.js, docs/csat.md)
        "csat_card_label": "Rate this conversation",
        "csat_question": "How did we do? Please rate this conversation.",
        "csat_scale_label": "Your rating, from 1 (very poor) to 5 (excellent)",
        "csat_1": "Very poor",
        "csat_2": "Poor",
        "csat_3": "Okay",
        "csat_4": "Good",
        "csat_5": "Excellent",
        "csat_comment_label": "Anything you'd like to add? (optional)",
        "csat_submit": "Send rating",
        "csat_skip": "No, thanks",
        "csat_choose": "Please choose a rating from 1 to 5.",
        "csat_thanks": "Thank you for your feedback!",
        "csat_you_rated": "You rated this conversation {rating} of 5.",
        "csat_already": "This conversation has already been rated. Thank you!",
        "csat_failed": "Your rating could not be sent. Please try again.",
    },
    "zh": {
        "launcher": "在线客服",
        "launcher_label": "打开 ShopDesk 在线客服",
        "panel_label": "ShopDesk 在线客服对话",
        "title": "ShopDesk 在线客服",
        "close_label": "关闭对话",
        "log_label": "对话记录",
        "typing_label": "助手正在输入",
        "input_label": "输入您的消息",
        "placeholder": "请输入您的消息…",
        "send": "发送",
        "send_label": "发送消息",
        "agent_banner": "您正在与人工客服{name}对话。",
        "our_team": "我们的客服团队",
        "queued_banner": "正在为您转接人工客服，请稍候…",
        "agent": "客服",
        "agent_byline": "{name} · 客服团队",
        "replies_label": "推荐回复",
        "cards_label": "推荐商品",
        "card_label": "第 {index} 个，共 {count} 个：{title}",
        "previous_products": "上一组商品",
        "next_products": "下一组商品",
        "image_alt": "助手发送的图片",
        "connection_lost": "连接已断开，正在重新连接…",
        "unreachable": "暂时无法连接到助手，正在重试…",
        "agent_typing": "{name}正在输入…",
        "csat_card_label": "为本次对话评分",
        "csat_question": "您对本次服务满意吗？请为这次对话评分。",
        "csat_scale_label": "您的评分：1（非常不满意）到 5（非常满意）",
        "csat_1": "非常不满意",
        "csat_2": "不满意",
        "csat_3": "一般",
        "csat_4": "满意",
        "csat_5": "非常满意",
        "csat_comment_label": "还有什么想告诉我们的吗？（选填）",
        "csat_submit": "提交评分",
        "csat_skip": "不用了，谢谢",
        "csat_choose": "请选择 1 到 5 分。",
        "csat_thanks": "感谢您的反馈！",
        "csat_you_rated": "您为这次对话打了 {rating} 分（满分 5 分）。",
        "csat_already": "这次对话已经评过分了，谢谢！",
        "csat_failed": "评分未能提交，请稍后重试。",
    },
}

SHOP_PAGE: dict[Language, dict[str, str]] = {
    "en": {
        "html_lang": "en",
        "home_url": "/",
        "title": "ShopDesk demo shop",
        "nav_label": "Shop",
        "nav_new": "New in",
        "nav_outdoor": "Outdoor",
        "nav_home": "Home",
        "nav_help": "Help",
        "heading": "Gear for every season",
        "intro": (
            "This is the ShopDesk demo shop. Ask the assistant in the corner about an order (try "
            "<strong>SD-100001</strong>), returns, refunds or products — or ask for a person."
        ),
        "featured_label": "Featured products",
        "catalogue_pending": "The catalogue is being prepared.",
        "other_language": "中文",
        "other_language_tag": "zh-CN",
        "other_language_url": "/zh",
    },
    "zh": {
        "html_lang": "zh-CN",
        "home_url": "/zh",
        "title": "ShopDesk 演示商店",
        "nav_label": "商店",
        "nav_new": "新品",
        "nav_outdoor": "户外",
        "nav_home": "家居",
        "nav_help": "帮助",
        "heading": "四季好物",
        "intro": (
            "这是 ShopDesk 的演示商店。您可以向右下角的智能助手咨询订单（试试 "
            "<strong>SD-100001</strong>）、退货、退款或商品，也可以要求转人工客服。"
        ),
        "featured_label": "精选商品",
        "catalogue_pending": "商品目录正在准备中。",
        "other_language": "English",
        "other_language_tag": "en",
        "other_language_url": "/",
    },
}


# Values a canned reply's variables take in the shopper's language (bot.canned_api): the shop's name and the
# order statuses of shop.model.ORDER_STATUSES, as a shopper reads them.
CANNED_VALUES: dict[Language, dict[str, str]] = {
    "en": {
        "shop_name": "ShopDesk demo shop",
        "status_pending": "awaiting payment",
        "status_paid": "paid, being prepared",
        "status_packed": "packed, about to ship",
        "status_shipped": "on its way",
        "status_delivered": "delivered",
        "status_cancelled": "cancelled",
        "status_returned": "returned",
    },
    "zh": {
        "shop_name": "ShopDesk 演示商店",
        "status_pending": "待付款",
        "status_paid": "已付款，正在备货",
        "status_packed": "已打包，即将发货",
        "status_shipped": "运输中",
        "status_delivered": "已送达",
        "status_cancelled": "已取消",
        "status_returned": "已退货",
    },
}


def text(language: str | None, key: str, **values: object) -> str:
    """The shopper text ``key`` in ``language`` (anything not en/zh: English), placeholders filled."""
    table = SHOPPER[normalize_language(language) or DEFAULT_LANGUAGE]
    if key not in table:
        raise KeyError(f"no shopper text {key!r}; known: {', '.join(sorted(table))}")
    return table[key].format(**values)


def offer_buttons(language: str | None) -> list[dict[str, str]]:
    """The leave-a-message offer's buttons: the payloads the ticket rules expect, titles in ``language``."""
    return [
        {"title": text(language, "leave_message"), "payload": "/affirm"},
        {"title": text(language, "no_thanks"), "payload": "/deny"},
    ]
