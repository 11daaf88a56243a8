"""Every word of the console's UI in English and Simplified Chinese, and how a request picks one.

Enum members are labelled by the key ``"<enum class name, lower case>.<value>"`` (for example
``"billstatus.overdue"``; complaint categories take the ticket model's CATEGORY_NAMES), so a new member without a translation fails
loudly in the test that compares the two dictionaries instead of showing a raw value.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Optional

from telecom_assistant.accounts.service import BillStatus
from telecom_assistant.tickets.model import (
    CATEGORY_NAMES,
    Category,
    Delivery,
    Kind,
    NetworkIssue,
    Priority,
    Status,
)

ENGLISH = "en"
CHINESE = "zh"
LANGUAGES = (ENGLISH, CHINESE)
DEFAULT_LANGUAGE = ENGLISH
# Agents read dates the same way in both languages: sortable and unambiguous.
DATE_TIME_FORMAT = "%Y-%m-%d %H:%M"
DATE_FORMAT = "%Y-%m-%d"
# The enums whose members the UI names; the test checks every member has a label.
LABELLED_ENUMS = (Priority, Status, Kind, NetworkIssue, BillStatus, Delivery)  # Category: CATEGORY_NAMES
SPEAKERS = ("customer", "assistant", "agent")

TEXT: dict[str, dict[str, str]] = {
    ENGLISH: {
        "app.title": "Agent console",
        "nav.label": "Main",
        "nav.queue": "Queue",
        "nav.hotspots": "Hot spots",
        "nav.signed_in_as": "Signed in as {name}",
        "nav.logout": "Log out",
        "nav.switch_language": "中文",
        "nav.switch_language_label": "切换到中文",
        "skip_to_content": "Skip to content",
        # sign-in
        "login.title": "Sign in",
        "login.username": "Username",
        "login.password": "Password",
        "login.submit": "Sign in",
        "login.failed": "Wrong username or password.",
        "login.locked": "Too many failed sign-ins. Try again after {time}.",
        "login.address_locked": (
            "Too many failed sign-ins from your network address. Try again after {time}."
        ),
        "login.form_expired": "The sign-in form expired. Please try again.",
        "login.signed_out": "You are signed out.",
        # queue
        "queue.title": "Ticket queue",
        "queue.filter": "Filter",
        "queue.channel_hint": "e.g. rest",
        "queue.overdue_only": "Overdue only",
        "queue.sort": "Sort by",
        "queue.apply": "Apply",
        "queue.reset": "Active tickets",
        "queue.count": "{count} tickets",
        "queue.empty": "No tickets match this filter.",
        "queue.unassigned": "Unassigned",
        "sort.due": "Due soonest",
        "sort.priority": "Priority",
        "sort.newest": "Newest first",
        "sort.oldest": "Oldest first",
        # ticket facts (shared by the queue table and the ticket page)
        "field.id": "Ticket",
        "field.created": "Created",
        "field.category": "Category",
        "field.priority": "Priority",
        "field.status": "Status",
        "field.kind": "Kind",
        "field.channel": "Channel",
        "field.assignee": "Assignee",
        "field.due": "Due",
        "field.conversation": "Conversation",
        "field.contact": "Contact number",
        "field.network_issue": "Network issue",
        "field.response_due": "Response due",
        "field.repair_due": "Repair due",
        "field.description": "Description",
        "overdue": "Overdue",
        # ticket page
        "ticket.title": "Ticket {id}",
        "ticket.verified_line": "verified line",
        "ticket.transcript": "Conversation",
        "ticket.transcript_empty": "No conversation was recorded.",
        "ticket.customer": "Customer",
        "ticket.customer_name": "Name",
        "ticket.line": "Line",
        "ticket.plan": "Plan",
        "ticket.line_unknown": "This line is not in the account system.",
        "ticket.bills": "Last bills",
        "ticket.bill_cycle": "Billing cycle",
        "ticket.bill_total": "Total",
        "ticket.bill_status": "Status",
        "ticket.bill_due": "Due date",
        "ticket.no_bills": "No bills yet.",
        "ticket.addons": "Active add-ons",
        "ticket.addon": "Add-on",
        "ticket.addon_fee": "Monthly fee",
        "ticket.addon_started": "Started",
        "ticket.addon_channel": "Ordered via",
        "ticket.addon_consent": "Consent on record",
        "ticket.no_addons": "No active add-ons.",
        "ticket.notes": "Notes",
        "ticket.no_notes": "No notes yet.",
        "ticket.history": "Status history",
        "ticket.history_from": "From",
        "ticket.history_to": "To",
        "ticket.history_by": "By",
        "ticket.history_at": "When",
        "ticket.created_marker": "(new)",
        "ticket.actions": "Actions",
        "ticket.change_status": "Change status",
        "ticket.new_status": "New status",
        "ticket.change_status_submit": "Change",
        "ticket.final": "A closed ticket is final.",
        "ticket.assign_to_me": "Assign to me",
        "ticket.assigned_to_you": "This ticket is assigned to you.",
        "ticket.add_note": "Add note",
        "ticket.note_text": "Note",
        "ticket.add_note_submit": "Add note",
        "ticket.reply": "Reply to the customer",
        "ticket.reply_text": "Message",
        "ticket.reply_submit": "Send to the customer",
        "ticket.reply_hint_at_once": "It reaches the customer's Telegram chat at once and "
                                     "joins the conversation above.",
        "ticket.reply_hint_next_visit": "It appears in the customer's web chat at once if it "
                                        "is open, otherwise at their next visit, and joins "
                                        "the conversation above.",
        "ticket.reply_unavailable": "This ticket came over the {channel} channel, which cannot "
                                    "carry a reply. Call the customer on the contact number.",
        "delivery.pending": "not delivered yet",
        "delivery.delivered": "delivered",
        "delivery.failed": "could not be delivered",
        "yes": "yes",
        "no": "no",
        # outcomes of the forms
        "flash.status_changed": "Status changed to {status}.",
        "flash.illegal_transition": "A ticket that is {current} cannot become {wanted}.",
        "flash.choose_status": "Choose one of the offered statuses.",
        "flash.assigned": "The ticket is assigned to you.",
        "flash.note_added": "Note added.",
        "flash.note_empty": "Write the note first.",
        "flash.note_too_long": "A note can have at most {limit} characters.",
        "flash.reply_queued": "The reply is on its way to the customer.",
        "flash.reply_empty": "Write the reply first.",
        "flash.reply_too_long": "A reply can have at most {limit} characters.",
        "flash.reply_channel": "This ticket's channel cannot carry a reply.",
        # hot spots
        "hotspots.title": "Hot spots",
        "hotspots.chart_title": "Tickets per category per day, last 14 days",
        "hotspots.chart_desc": "Stacked bars, one per day; each coloured part is one category. "
                               "The same numbers are in the table below the chart.",
        "hotspots.axis_day": "Day",
        "hotspots.axis_tickets": "Tickets",
        "hotspots.rising": "Rising most this week: {category}, {this_week} tickets this week "
                           "against {last_week} last week.",
        "hotspots.none_rising": "No category rose this week.",
        "hotspots.no_tickets": "No tickets in the last 14 days.",
        "hotspots.weeks": "This week against last week",
        "hotspots.last_week": "Last week",
        "hotspots.this_week": "This week",
        "hotspots.change": "Change",
        "hotspots.data": "Tickets per day",
        "hotspots.day": "Day",
        "hotspots.total": "Total",
        # errors
        "error.title": "Something is wrong",
        "error.forbidden": "This form has expired or did not come from this console. "
                           "Reload the page and try again.",
        "error.not_found": "This page does not exist.",
        "error.unknown_ticket": "There is no ticket {id}.",
        "error.signed_out": "Your session has ended. Please sign in again.",
        "error.back_to_queue": "Back to the queue",
        "error.sign_in": "Sign in",
        # labels of the domain's values
        "priority.urgent": "Urgent",
        "priority.high": "High",
        "priority.normal": "Normal",
        "status.open": "Open",
        "status.in_progress": "In progress",
        "status.waiting_for_customer": "Waiting for customer",
        "status.resolved": "Resolved",
        "status.closed": "Closed",
        "kind.complaint": "Complaint",
        "kind.fault": "Fault",
        "kind.spam_report": "Spam report",
        "networkissue.no_signal": "No signal",
        "networkissue.dropped_calls": "Dropped calls",
        "networkissue.slow_data": "Slow data",
        "networkissue.broadband_down": "Broadband down",
        "networkissue.broadband_slow": "Slow broadband",
        "billstatus.paid": "Paid",
        "billstatus.unpaid": "Unpaid",
        "billstatus.overdue": "Overdue",
        "speaker.customer": "Customer",
        "speaker.assistant": "Assistant",
        "speaker.agent": "Agent",
    },
    CHINESE: {
        "app.title": "坐席工作台",
        "nav.label": "主导航",
        "nav.queue": "工单队列",
        "nav.hotspots": "热点问题",
        "nav.signed_in_as": "当前坐席：{name}",
        "nav.logout": "退出登录",
        "nav.switch_language": "English",
        "nav.switch_language_label": "Switch to English",
        "skip_to_content": "跳到正文",
        "login.title": "登录",
        "login.username": "用户名",
        "login.password": "密码",
        "login.submit": "登录",
        "login.failed": "用户名或密码错误。",
        "login.locked": "登录失败次数过多，请在 {time} 之后再试。",
        "login.address_locked": "您所在网络地址的登录失败次数过多，请在 {time} 之后再试。",
        "login.form_expired": "登录页面已过期，请重试。",
        "login.signed_out": "您已退出登录。",
        "queue.title": "工单队列",
        "queue.filter": "筛选",
        "queue.channel_hint": "例如 rest",
        "queue.overdue_only": "只看已超时",
        "queue.sort": "排序",
        "queue.apply": "应用",
        "queue.reset": "进行中的工单",
        "queue.count": "共 {count} 张工单",
        "queue.empty": "没有符合条件的工单。",
        "queue.unassigned": "未分配",
        "sort.due": "截止时间最近",
        "sort.priority": "优先级",
        "sort.newest": "最新创建",
        "sort.oldest": "最早创建",
        "field.id": "工单号",
        "field.created": "创建时间",
        "field.category": "类别",
        "field.priority": "优先级",
        "field.status": "状态",
        "field.kind": "类型",
        "field.channel": "渠道",
        "field.assignee": "处理人",
        "field.due": "截止时间",
        "field.conversation": "会话编号",
        "field.contact": "联系电话",
        "field.network_issue": "网络问题",
        "field.response_due": "响应时限",
        "field.repair_due": "修复时限",
        "field.description": "问题描述",
        "overdue": "已超时",
        "ticket.title": "工单 {id}",
        "ticket.verified_line": "已验证号码",
        "ticket.transcript": "对话记录",
        "ticket.transcript_empty": "没有对话记录。",
        "ticket.customer": "客户信息",
        "ticket.customer_name": "姓名",
        "ticket.line": "号码",
        "ticket.plan": "套餐",
        "ticket.line_unknown": "账户系统中没有此号码。",
        "ticket.bills": "最近账单",
        "ticket.bill_cycle": "账期",
        "ticket.bill_total": "金额",
        "ticket.bill_status": "状态",
        "ticket.bill_due": "缴费截止日",
        "ticket.no_bills": "暂无账单。",
        "ticket.addons": "在订增值业务",
        "ticket.addon": "业务",
        "ticket.addon_fee": "月费",
        "ticket.addon_started": "开通日期",
        "ticket.addon_channel": "订购渠道",
        "ticket.addon_consent": "有订购凭证",
        "ticket.no_addons": "没有在订增值业务。",
        "ticket.notes": "备注",
        "ticket.no_notes": "暂无备注。",
        "ticket.history": "状态记录",
        "ticket.history_from": "原状态",
        "ticket.history_to": "新状态",
        "ticket.history_by": "操作人",
        "ticket.history_at": "时间",
        "ticket.created_marker": "（新建）",
        "ticket.actions": "处理",
        "ticket.change_status": "变更状态",
        "ticket.new_status": "新状态",
        "ticket.change_status_submit": "变更",
        "ticket.final": "已关闭的工单不能再变更。",
        "ticket.assign_to_me": "分配给我",
        "ticket.assigned_to_you": "此工单已分配给您。",
        "ticket.add_note": "添加备注",
        "ticket.note_text": "备注内容",
        "ticket.add_note_submit": "添加备注",
        "ticket.reply": "回复客户",
        "ticket.reply_text": "消息内容",
        "ticket.reply_submit": "发送给客户",
        "ticket.reply_hint_at_once": "消息会立即送达客户的 Telegram 对话，并加入上方的对话记录。",
        "ticket.reply_hint_next_visit": "客户的网页聊天若已打开会立即显示，否则在客户下次访问时显示；"
                                        "消息会加入上方的对话记录。",
        "ticket.reply_unavailable": "此工单来自 {channel} 渠道，无法把回复送达客户。请拨打联系电话。",
        "delivery.pending": "尚未送达",
        "delivery.delivered": "已送达",
        "delivery.failed": "无法送达",
        "yes": "是",
        "no": "否",
        "flash.status_changed": "状态已变更为“{status}”。",
        "flash.illegal_transition": "“{current}”的工单不能变更为“{wanted}”。",
        "flash.choose_status": "请从列出的状态中选择一个。",
        "flash.assigned": "工单已分配给您。",
        "flash.note_added": "备注已添加。",
        "flash.note_empty": "请先填写备注内容。",
        "flash.note_too_long": "备注最多 {limit} 个字。",
        "flash.reply_queued": "回复正在发送给客户。",
        "flash.reply_empty": "请先填写回复内容。",
        "flash.reply_too_long": "回复最多 {limit} 个字。",
        "flash.reply_channel": "此工单的渠道无法送达回复。",
        "hotspots.title": "热点问题",
        "hotspots.chart_title": "近14天各类别每日工单数",
        "hotspots.chart_desc": "堆叠柱状图，每天一根柱子，每种颜色代表一个类别。图下方的表格列出相同的数字。",
        "hotspots.axis_day": "日期",
        "hotspots.axis_tickets": "工单数",
        "hotspots.rising": "本周上升最多：{category}，本周 {this_week} 张，上周 {last_week} 张。",
        "hotspots.none_rising": "本周没有上升的类别。",
        "hotspots.no_tickets": "近14天没有工单。",
        "hotspots.weeks": "本周与上周对比",
        "hotspots.last_week": "上周",
        "hotspots.this_week": "本周",
        "hotspots.change": "变化",
        "hotspots.data": "每日工单数",
        "hotspots.day": "日期",
        "hotspots.total": "合计",
        "error.title": "出错了",
        "error.forbidden": "表单已过期或并非来自本工作台，请刷新页面后重试。",
        "error.not_found": "页面不存在。",
        "error.unknown_ticket": "没有编号为 {id} 的工单。",
        "error.signed_out": "登录已失效，请重新登录。",
        "error.back_to_queue": "返回工单队列",
        "error.sign_in": "登录",
        "priority.urgent": "紧急",
        "priority.high": "高",
        "priority.normal": "普通",
        "status.open": "待处理",
        "status.in_progress": "处理中",
        "status.waiting_for_customer": "待客户回复",
        "status.resolved": "已解决",
        "status.closed": "已关闭",
        "kind.complaint": "投诉",
        "kind.fault": "故障报修",
        "kind.spam_report": "骚扰举报",
        "networkissue.no_signal": "无信号",
        "networkissue.dropped_calls": "通话掉线",
        "networkissue.slow_data": "上网慢",
        "networkissue.broadband_down": "宽带中断",
        "networkissue.broadband_slow": "宽带速度慢",
        "billstatus.paid": "已缴清",
        "billstatus.unpaid": "未缴",
        "billstatus.overdue": "已逾期",
        "speaker.customer": "客户",
        "speaker.assistant": "智能助理",
        "speaker.agent": "坐席",
    },
}


class Translator:
    """The UI text of one language, handed to every template as ``t``."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._text = TEXT[language]

    def __call__(self, key: str, **params: object) -> str:
        return self._text[key].format(**params)

    def label(self, member: enum.Enum) -> str:
        if isinstance(member, Category):
            # The names the assistant gives customers, so both sides use the same words.
            english, chinese = CATEGORY_NAMES[member]
            return self.local(english[0].upper() + english[1:], chinese)
        return self._text[f"{type(member).__name__.lower()}.{member.value}"]

    def speaker(self, speaker: str) -> str:
        """Who said or did something: the assistant, the customer or an agent are named in
        this language; anyone else (an agent's username in the history) as stored."""
        return self._text.get(f"speaker.{speaker}", speaker)

    def local(self, english: str, chinese: str) -> str:
        """Pick between the two names the account data keeps (plans, add-ons, channels)."""
        return chinese if self.language == CHINESE else english

    @staticmethod
    def when(moment: Optional[datetime]) -> str:
        return moment.strftime(DATE_TIME_FORMAT) if moment else ""

    @staticmethod
    def day(day: Optional[date]) -> str:
        return day.strftime(DATE_FORMAT) if day else ""

    @staticmethod
    def money(fen: int) -> str:
        sign = "-" if fen < 0 else ""
        yuan, rest = divmod(abs(fen), 100)
        return f"{sign}¥{yuan}.{rest:02d}"


def pick_language(chosen: Optional[str], accept_language: Optional[str]) -> str:
    """The agent's own choice (the ``lang`` cookie) first, else the browser's preference."""
    if chosen in LANGUAGES:
        return chosen
    return _from_accept_language(accept_language or "")


def _from_accept_language(header: str) -> str:
    """The most preferred of our languages in an Accept-Language header ("zh-CN,zh;q=0.9")."""
    ranked = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            # Equal qualities keep the header's order.
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE
