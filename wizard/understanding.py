"""Understanding a merchant's own words: which symptoms a description says are there, or not.

A merchant types what happened, or what the screen says. A :class:`Phrasebook`, built
once from each symptom's phrases (keywords, the way merchants say it, on-screen
messages, error codes; in Chinese and English), reads the text and returns
:class:`Fact` s: a symptom ``present`` or ``absent``. Nothing here decides anything: the
merchant confirms the facts before they become answers.

How a text is read:

1. Normalised (NFKC, lower case, control characters out, at most ``MAX_CHARS``;
   traditional characters simplified, "螢幕" read "屏幕", a pinyin near-sound such as
   "升极" read "升级", "用了7年" read "用了七年", pinyin "shengji" read "升级") and cut
   into words: Chinese by jieba, with every phrase in its user dictionary so that a
   phrase is one word and a phrase inside an ordinary word ("进水" in "进水果") is not
   a match; English by a small tokenizer that expands "can't" to "can not", "thru" to
   "through", and a crude stem ("went" → "go"). "没有" and "未" are written "没" on both
   sides.
2. Split into clauses at punctuation and at "but/但是": a negation never crosses one,
   except a denied list written with commas ("no swelling, heat, smoke or liquid").
3. Small words that carry no meaning here ("了", "都", "the", "is") are left out, so
   that "刷卡一直失败" reads like "刷卡失败" and "the card can't be read" like "card can
   not be read".
4. Matched. A phrase that must match exactly (a Chinese phrase of up to five
   characters, a short English one, anything with a number in it) is looked for as it
   is; a longer one is scored against every clause of its script at once by RapidFuzz
   (``partial_ratio``), which tolerates a typo ("authorizaton code") and mixed Chinese
   and English. Either way the match is then widened to whole words and scored again,
   and a near match must differ by typos only (never a negation, a known word, a word
   more or less).
   A *pair* ("卡槽/插卡口 + 脏/油污": a thing and what is wrong with it, a few ways of
   saying each) matches a clause that holds one of each, in either order and a few words
   apart ("插卡口黑乎乎的全是油"), and says "absent" with a negator before its state
   ("卡槽一点都不脏"). It ranks below a phrase found as it is.
5. Polarity. A negator just before a phrase ("没有装别的软件", "no error") makes it
   absent, and so does one after it at the end of the clause ("鼓包没有"); "不能/无法/
   can't" inside a phrase is part of the symptom ("无法开机" is present). A negation
   carries over a list ("没有鼓包、冒烟或进水"), not past "why" or a time ("不知道为什么
   读不了卡", "没多久就闪退"). A negator between a phrase's words makes it absent too
   ("屏幕没碎", "the screen isn't cracked"). A question or a guess ("有没有进水", "可能是
   进水了", "是网络问题吗?", "Is the battery swollen?", "听说…") is no fact, and neither
   is "it worked before" ("以前刷卡都正常"), nor a problem told as put right long ago
   ("以前网络老断,去年换了路由器就好了"), nor what other people say of their own
   terminals ("好几个老板都说升完级刷不了了"; what the bank says stays).
   "网络正常", "wifi works", "the screen is fine", "卡槽很干净", "费率没变" are read
   through *topics*: a phrase without the fault words at its end ("网络不好" → "网络"),
   followed by a "works fine" word, makes the symptom absent, never present.
6. One fact per symptom (the best-scoring reading), at most one present per group of
   mutually exclusive symptoms, in the order of the text.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal, NamedTuple

import jieba
import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq, Levenshtein

from .hanzi_variants import T2S

# jieba logs its dictionary loading at DEBUG to its own stderr handler.
jieba.setLogLevel(logging.WARNING)

Polarity = Literal["present", "absent"]

# Only the start of a long text is read: the facts a merchant confirms are few, and the
# cost stays bounded whatever is pasted into the box.
MAX_CHARS = 2000


def wordset(text: str) -> frozenset[str]:
    """A set of words written the short way, separated by spaces."""
    return frozenset(text.split())


# --- Vocabulary. Tokens are compared after normalisation (lower case, "can't" → "can not").

# A negator just before a phrase makes it absent.
NEGATORS = wordset(
    "不 没 没有 未 无 别 不是 并不 并没 并没有 并非 非 从没 从没有 从来没 从来没有 从未 不曾 没什么 没啥 "
    "no not never without none nothing nor neither nobody"
)
# ...and at the very end of a clause, after the phrase ("鼓包没有").
AFTER_NEGATORS = wordset("没 没有 无 不是 none no not")
# "没有" and "未" say what "没" says ("终端没有激活" is "终端未激活"): in every word of
# phrases and texts alike they are written "没", except in a question ("有没有").
NEGATOR_FORMS = (("没有", "没"), ("未", "没"))
# A phrase of two words or more with one of these between two of its words says the
# symptom is not there ("屏幕没碎" for "屏幕碎了", "the screen is not cracked").
INNER_NEGATORS = {"han": ("没", "不"), "latin": ("not", "never")}
# After a negator these words say "I don't know", not "it is not so".
UNSURE_AFTER_NEGATOR = wordset("确定 清楚 sure certain")
KNOW_AFTER_NEGATOR = wordset("知道 懂 know")
# A word, one of these and the word's end again ask ("卡槽脏不脏"; see ``a_not_a``).
A_NOT_A = wordset("不 没")
# A phrase after one of these is a question or a guess, not a statement: no fact.
UNSURE = wordset("有没有 是不是 会不会 是否 不确定 不清楚 如果 要是 假如 whether maybe perhaps if")
# A guess: every phrase after one of these in its clause is the merchant wondering, not
# telling ("可能是升级的时候断电了", "I guess the battery is swollen"); what comes before it
# still counts ("读不了卡可能是网络问题": the card cannot be read).
GUESSES = wordset(
    "可能 可能是 也许 或许 估计 怀疑 大概 难道 莫非 是不是 会不会 听说 据说 "
    "maybe perhaps probably possibly might guess suspect wonder heard"
)
# What other merchants or people say is about their terminals, not this one: a phrase after
# one of these and then "说" in its clause is no fact ("群里好几个老板都说升完级刷不了了",
# "他们也说网卡得要命", "people say the quality is poor"). What the provider or the bank
# says ("银行说…", "客服说…") is not hearsay of this kind, and stays.
OTHERS = wordset(
    "他们 她们 大家 别人 人家 其他人 同行 好几个 好多 很多 不少 有人 网上 网友 "
    "people everyone everybody others someone somebody online"
)
SAYS = wordset("说 讲 反映 say tell")
# Devices other than the terminal: what works fine on them says nothing of the terminal's
# own network or screen (see ``elsewhere``).
OTHER_DEVICES = wordset("手机 电脑 笔记本 平板 phone phones laptop computer tablet")
# Advice is not something done: a phrase before one of these in its clause is something to
# try ("让我换根网线试试", "重启一下试试看"): no fact.
TRIES = wordset("试试 试一下 试一试 试下 试试看")
# A yes/no question in English starts with one of these and ends with "?" ("Is the battery
# swollen?", "Did the update fail?"); "can't read the card?" is a statement all the same.
ASKING = wordset("is are was were do does did can could should will would has have had")
# In Chinese, "吗" asks about the phrase right before it ("进水了吗") or after "是" ("是网络
# 问题吗"), not about another matter ("开不了机了还能修吗": it does not turn on).
IS_IT = wordset("是")
# How far back a negator reaches: Chinese puts it right before the verb ("没装过"), but a
# few words may stand between ("没有人动过设置"); English a little further ("did not see
# any error" → "not see error").
BRIDGES = wordset(
    "人 再 怎么 被 有 给 把 太 一点 一次 那么 这么 动 碰 发现 看到 看见 见到 见过 遇到 遇到过 出现 出现过 闻到 注意到 碰到"
)
LATIN_REACH = 3
# A negation does not reach past these ("没多久就死机", "no idea why it can't read").
BARRIERS = wordset(
    "为什么 因为 所以 之后 以后 然后 结果 后来 以前 之前 多久 几天 一会 一会儿 一下子 "
    "why because since when after before then until so idea"
)
# Links of a list: a negation before its first item, or after its last, covers them all.
COORDINATORS = wordset("、 / & + 和 或 或者 及 与 跟 以及 and or nor")
# A list after one of these, at the start of its clause, is denied item by item, even
# where an item is no phrase or the items are written with commas ("no swelling, heat,
# smoke or liquid", "没有鼓包,冒烟或者进水").
LIST_NEGATORS = wordset("没 无 no without")
LIST_ITEM = 3  # words in one item of such a list
# A new clause starts after these (the merchant turns to something else).
CONTRASTS = wordset("但 但是 可是 不过 然而 却 只是 but however although though except whereas")
# Words that are skipped when matching (on both sides, so phrases may contain them).
FILLERS = wordset(
    "了 的 地 着 过 呢 啊 呀 吧 哦 啦 哈 嗯 呃 额 一直 总是 都 也 还 还是 又 就 很 非常 特别 有点 有些 太 挺 "
    "已经 现在 我 我们 我的 它 这 这个 那个 这台 那台 任何 什么 啥 请问 麻烦 您好 你好 谢谢 "
    "the a an is are was were am be been being it its my our your this that these those i we "
    "me us do does did has have had will would could should just really very still also "
    "please any some"
)  # ...but not "too": "too old" is not "old"
# ...but a phrase that is one of these and a single word ("一直重启") is one word: without
# it, "重启" alone may be the merchant restarting the terminal, not a terminal that keeps
# restarting.
REPEATS = wordset("一直 总是")
# ...and before an English word, these say "keeps" ("一直 reboot" is "keeps rebooting").
KEEPS = wordset("一直 总是 老是 反复 不停 不断")
# "Works fine" words: after a topic ("网络正常", "wifi works"), the symptom is absent.
FINE = wordset(
    "正常 没问题 没事 好 好的 很好 挺好 良好 好好的 完好 可以 能用 不错 稳定 满格 满 没毛病 通 畅通 通畅 "
    "行 还行 强 顺畅 流畅 干净 干干净净 对 对的 能上网 "
    "ok okay fine work working normal normally good well alright stable strong clean correct"
)
# "It worked" after one of these in its clause is about the past, not now ("以前刷卡都正常",
# "before the update payments went through"): no fact.
PAST = wordset(
    "以前 之前 原来 本来 过去 从前 前 当初 以往 before used previously earlier originally formerly"
)
# A sentence that opens in the past and ends with the problem put right ("以前网络老断,
# 去年换了路由器就好了", "last year the wifi kept dropping, a new router fixed it") tells
# of something over: nothing in it is a fact about the terminal now.
SETTLED_OPENERS = (
    "以前", "之前", "去年", "前年", "上次", "上回", "上个月", "上周", "上礼拜", "前阵子", "前段时间", "原来",
    "last year", "last time", "before the upgrade", "a while ago", "we used to", "it used to",
)  # fmt: skip
SETTLED = (
    "就好了", "后来好了", "才好了", "修好了", "解决了", "没再出过",
    "fixed it", "was fixed", "got fixed", "sorted it", "sorted out", "was fine after",
)  # fmt: skip
_SENTENCE = re.compile(r"[^。!?;\n]+")

# The words of a "works fine" phrase, besides ``FINE``: "能刷卡", "升级成功", "payments go through".
WORKS = wordset("能 成功 succeed success successful successfully through")
FINE_PAIRS = (
    frozenset(
        (nothing, wrong)
        for nothing in ("没", "没有", "没什么", "没啥", "no")
        for wrong in ("问题", "毛病", "异常", "problem", "issu")  # English words stemmed
    )
    | {
        # ...and "not changed" after a topic of a rise ("费率没变", "the rate hasn't changed").
        (nothing, "变")
        for nothing in ("没", "没什么", "没啥")
    }
    | {("not", "chang"), ("没", "涨")}
)
# ...but before another word "好" says "very": "到账好慢" is slow, not fine.
VERY = wordset("好")
# Words that may stand between a topic and its "works fine" word ("网络都很正常").
FINE_LEADS = wordset(
    "很 挺 都 也 还 一切 完全 都很 也很 还是 是 用着 用起来 本身 seem seems look looks totally perfectly "
    "itself"
)
# A Chinese phrase may match with up to this many characters between its own ("换了新的
# 路由器" for "换了路由器"), or with one character wrong; but never with one of these.
GAP = 2
NEGATION_CHARACTERS = frozenset("不没无未非别否能")
# A typo never changes one of those, nor a character that says how something is or that
# someone says it: "店里wifi是好的" is not a typo of "店里wifi坏了", nor "业务员说升级" of
# "业务员帮升级".
NEVER_TYPOS = NEGATION_CHARACTERS | frozenset("好坏是正常行说")
# ...nor with one of these words, which say it is going to happen, not that it has: "计算
# 方式要改" is a change announced, not "计算方式改了".
INTENT = wordset("要 会 将 将要 就要 快要 想 准备 打算")
# ...nor with one of these, which put one event after another: "升级以后特别卡" is slow
# after the upgrade, not "升级卡了" (the upgrade stuck).
SEQUENCE = wordset("后 以后 之后 完 完了 然后 后来")
# Question marks inside a clause: "网络正常吗" asks, it does not tell.
QUESTION_WORDS = wordset("吗 么 嘛")
# A topic is a phrase without the fault words at its end ("网络不好" → "网络", "wifi not
# working" → "wifi", "屏幕碎了" → "屏幕"), and without a negator at its start ("没有网络
# 信号" → "网络信号"). Only a phrase that ends in a fault has a topic: "没收到通知" or
# "no damage" say that something did not happen, and "通知正常" would mean nothing.
TOPIC_HEADS = wordset("没 没有 无 不 不能 无法 没法 未 别 no not never can cannot unable to")
_TOPIC_TAIL_WORDS = wordset(
    "不好 差 很差 坏 坏了 碎 裂 失败 超时 欠费 鼓包 鼓起来 发烫 冒烟 进水 乱码 花屏 不行 不通 不稳定 "
    "错误 异常 故障 出错 报错 断 断了 不上 打叉 问题 有问题 没反应 no not never down "
    "error failed failure broken dead cracked garbled frozen stuck lost bad poor weak timeout swollen "
    "bulging hot overheating stopped issue problem 脏 脏了 很脏 不对 对不上 少 少了 "
    "dirty dusty filthy offline wrong short 高了 涨了 涨 上涨 上调 提高 变高 变高了 贵了 变贵 "
    "higher increased"
)
# A topic this general says nothing about any one symptom ("机器正常", "有时候好").
_GENERIC_TOPIC_WORDS = wordset(
    "pos pos机 机器 机子 设备 终端 收款 刷卡机 东西 问题 情况 有时候 有时 偶尔 每次 经常 老是 时候 "
    "次次 terminal machine device reader app it sometimes always time completely everything all"
)
# English contractions, so that "can't", "cant" and "cannot" read alike.
CONTRACTIONS = {
    "can't": ("can", "not"),
    "cant": ("can", "not"),
    "cannot": ("can", "not"),
    "won't": ("will", "not"),
    "wont": ("will", "not"),
    "ain't": ("is", "not"),
}
# Chat spellings, read as the words they stand for.
SHORTHAND = {
    "thru": ("through",),
    "tho": ("though",),
    "pls": ("please",),
    "plz": ("please",),
    "u": ("you",),
    "ur": ("your",),
    "cuz": ("because",),
    "coz": ("because",),
    "bc": ("because",),
    "b4": ("before",),
    "msg": ("message",),
    "idk": ("i", "do", "not", "know"),
    "dunno": ("do", "not", "know"),
    "txn": ("transaction",),
    "txns": ("transactions",),
    "dept": ("department",),
    "yrs": ("years",),
    "yr": ("year",),
}
# Irregular English verbs, so that "the fees didn't go up" reads like "the fees went up".
IRREGULAR = {
    "went": "go",
    "gone": "go",
    "goes": "go",
    "broke": "break",
    "broken": "break",
    "fell": "fall",
    "fallen": "fall",
    "froze": "freeze",
    "frozen": "freeze",
    "got": "get",
    "gotten": "get",
    "took": "take",
    "taken": "take",
    "came": "come",
    "shown": "show",
    "ran": "run",
    "told": "tell",
    "said": "say",
    "says": "say",
    "sent": "send",
    "bought": "buy",
    "paid": "pay",
    "kept": "keep",
    "lost": "lose",
    "died": "die",
    "dies": "die",
    "dying": "die",
    "shut": "shut",
    "spilt": "spill",
    "rang": "ring",
    "hung": "hang",
    "gave": "give",
    "given": "give",
    "stuck": "stuck",
    "marketing": "marketing",  # advertising, not the market
    "dropping": "dropping",  # a signal "dropping in and out", not a terminal dropped
    "swollen": "swell",
}
NOT_SUFFIXED = wordset("do does did is was are were has have had could would should must need")

# The English words above are never stemmed (see ``stem``).
PROTECTED = frozenset().union(
    NEGATORS,
    AFTER_NEGATORS,
    UNSURE_AFTER_NEGATOR,
    KNOW_AFTER_NEGATOR,
    UNSURE,
    BARRIERS,
    GUESSES,
    TRIES,
    ASKING,
    PAST,
    WORKS,
    COORDINATORS,
    CONTRASTS,
    FILLERS,
    FINE,
    FINE_LEADS,
    TOPIC_HEADS,
    NOT_SUFFIXED,
    OTHERS,
    SAYS,
    OTHER_DEVICES,
    *CONTRACTIONS.values(),
)

# The Chinese words above are words of every phrasebook's dictionary too, so that a text
# is cut at them ("信号满格" → "信号" + "满格", not "满" + "格").
VOCABULARY_WORDS = frozenset(
    word
    for group in (
        NEGATORS,
        UNSURE,
        GUESSES,
        TRIES,
        KEEPS,
        BARRIERS,
        COORDINATORS,
        CONTRASTS,
        FILLERS,
        FINE,
        FINE_LEADS,
    )
    for word in group
    if len(word) > 1 and "\u4e00" <= word[0] <= "\u9fff"
)

_RUN = re.compile(
    r"(?P<han>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)"
    r"|(?P<latin>\d+(?:\.\d+)+|[a-z0-9]+(?:['\-][a-z0-9]+)*)"
    r"|(?P<coord>[、/&+])"
    r"|(?P<stop>[.!?;:。…\n|~,]+)"
)
# Words merchants write another way, each replaced by the way the phrases write it, of
# the same length (offsets into the text stay right): traditional and Taiwanese words,
# and what a pinyin keyboard gives for a near sound ("升极" for "升级", "闪推" for "闪退").
_VARIANTS = {
    "萤幕": "屏幕",
    "荧幕": "屏幕",
    "当机": "死机",
    "网路": "网络",
    "讯号": "信号",
    "软体": "软件",
    "硬体": "硬件",
    "程式": "程序",
    "支援": "支持",
    "伺服器": "服务器",
    "连线": "连接",
    "触控": "触摸",
    "帐号": "账号",
    "帐户": "账户",
    "到帐": "到账",
    "对帐": "对账",
    "帐单": "账单",
    "升极": "升级",
    "生级": "升级",
    "升及": "升级",
    "闪推": "闪退",
    "闪腿": "闪退",
    "通迅": "通讯",
    "通汛": "通讯",
    "痛讯": "通讯",
    "晓得": "知道",  # "不晓得" is "不知道", as older merchants and some regions say it
    "重起": "重启",
    "受权": "授权",
    "授权玛": "授权码",
    "死鸡": "死机",
    "黑平": "黑屏",
    "白平": "白屏",
    "卡吨": "卡顿",
    "鼓胞": "鼓包",
    "乱马": "乱码",
    "费律": "费率",
    "手序费": "手续费",
    "手须费": "手续费",
    "兼融": "兼容",
    "网落": "网络",
    "路由气": "路由器",
    "序列好": "序列号",
    "咭": "卡",  # "刷咭", "信用咭": a card, in Hong Kong
    "机活": "激活",
    "刷卡鸡": "刷卡机",
    "收款鸡": "收款机",
    "pos鸡": "pos机",
    "升纪": "升级",
    "登计": "登记",
    "花平": "花屏",
    "授全码": "授权码",
}
# ...and those that are a typo only where they stand: "咔" for "卡" next to swiping or
# reading ("读不了咔"), "吗" for "码" after "enter" or before more words ("请输入授权吗",
# "授权吗是什么"), but "要授权吗?" asks; "生机" for "升级" before "后/失败/完…".
_CONTEXT_VARIANTS = (
    (re.compile(r"(?:(?<=[刷读插])|(?<=不了))咔|咔(?=[刷槽片])"), "卡"),
    (re.compile(r"(?:(?<=输入)|(?<=输)|(?<=填))(授权|激活)吗|(授权|激活)吗(?=[\u4e00-\u9fff])"), None),
    # "生机" for "升级" where an upgrade is done ("刷卡机生机后", "生机失败"), not "生机勃勃".
    (re.compile(r"生机(?=[后了完失成到中时以之])"), "升级"),
    # "鸡" for "机" after switching on or off ("开不了鸡", "关鸡"), as in "死鸡".
    (re.compile(r"(?:(?<=[开关])|(?<=开不了))鸡"), "机"),
)
# The words of this trade typed in pinyin, without tones, read as the characters they stand
# for ("pos机shengji后" is "pos机升级后"): only words no English text would hold.
PINYIN = {
    "shengji": "升级",
    "shuaka": "刷卡",
    "kaiji": "开机",
    "chongqi": "重启",
    "siji": "死机",
    "shantui": "闪退",
    "wangluo": "网络",
    "xinhao": "信号",
    "shouquanma": "授权码",
    "jihuoma": "激活码",
    "jihuo": "激活",
    "tongxun": "通讯",
    "shibai": "失败",
    "heiping": "黑屏",
    "baiping": "白屏",
    "gengxin": "更新",
    "shouxufei": "手续费",
    "feilv": "费率",
    "daozhang": "到账",
    "kadun": "卡顿",
    "luanma": "乱码",
    "huaping": "花屏",
    "duankai": "断开",
    "diaoxian": "掉线",
    "zhongduan": "终端",
    "weijihuo": "未激活",
    "pingmu": "屏幕",
    "xianshi": "显示",
    "tishi": "提示",
}
# ...and written a syllable at a time, as pinyin-only writers often do ("sheng ji" is
# "shengji"): the syllables are joined, the spaces moved after the word (offsets stay right).
_SPACED_PINYIN = re.compile(
    r"(?<![a-z])(?:"
    + "|".join(" ?".join(key) for key in sorted(PINYIN, key=len, reverse=True))
    + r")(?![a-z])"
)
# A number of years in digits reads as the phrases write it, in Chinese ("用了7年" is
# "用了七年"); a year ("2019年") stays.
_YEARS = re.compile(r"(?<![\d.])(\d{1,2})(?=\s*年)")
_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1–99 in Chinese numerals: 7 → "七", 10 → "十", 12 → "十二", 25 → "二十五"."""
    tens, ones = divmod(n, 10)
    if not tens:
        return _DIGITS[ones]
    return (_DIGITS[tens] if tens > 1 else "") + "十" + (_DIGITS[ones] if ones else "")


_VARIANT = re.compile("|".join(sorted(map(re.escape, _VARIANTS), key=len, reverse=True)))
assert all(len(a) == len(b) for a, b in _VARIANTS.items())
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff]")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[a-z]")
_HAN_CHARACTER = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")


@dataclass(frozen=True)
class Fact:
    """What a text says about one symptom, for the merchant to confirm."""

    symptom: str
    polarity: Polarity
    # The phrase that matched, as written in the phrasebook (for "网络正常", the phrase
    # whose topic it is: "网络不好").
    phrase: str
    # The words of the (normalised) text it matched, with the negation or "works fine"
    # word that made it absent.
    excerpt: str


class Token(NamedTuple):
    text: str
    start: int  # offsets in the normalised text
    end: int
    kind: str  # "han", "latin", "coord" or "stop"


@dataclass(frozen=True)
class Clause:
    """The content words of one clause, and the same words joined for fuzzy matching:
    Chinese without spaces, English words with one ("pos机显示communication failed")."""

    tokens: tuple[Token, ...]
    compact: str
    starts: tuple[int, ...]  # where each token starts in ``compact``
    ends: tuple[int, ...]
    question: bool
    # A yes/no question in English: none of its phrases is a fact.
    asks: bool = False


class Phrase(NamedTuple):
    symptom: str
    text: str  # as written in the phrasebook
    key: str  # compacted like a clause
    cutoff: int  # the RapidFuzz score (0–100) a match needs
    topic: bool  # a topic only ever says "absent", after a "works fine" word
    inverted: bool = False  # the phrase with a negator between its words: "absent"


class Match(NamedTuple):
    phrase: Phrase
    clause: int
    first: int  # token indices in the clause, inclusive
    last: int
    score: float
    gapped: bool = False  # found with a word or two between its own ("换了新的路由器")
    # other than a "works fine" word ("不能正常刷卡")
    near: bool = False  # found with a typo


class Reading(NamedTuple):
    """A match with its polarity, and the span of the text that says so."""

    match: Match
    polarity: Polarity
    first: int
    last: int

    @property
    def rank(self) -> tuple[bool, float, int]:
        return (not self.match.phrase.topic, self.match.score, len(self.match.phrase.key))


# --- Normalising and cutting the text into words


def normalise(text: str) -> str:
    """NFKC (fullwidth letters, digits and punctuation become ordinary ones), lower
    case, control and invisible characters out, traditional characters simplified and
    the variants of a word written as the phrases write it (see ``variants``); at most
    ``MAX_CHARS`` characters."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).translate(_APOSTROPHES)
    text = _INVISIBLE.sub("", _CONTROL.sub(" ", text.replace("\t", " ")))
    return variants(text.lower()[:MAX_CHARS].translate(T2S))


def variants(text: str) -> str:
    """Each variant of a word replaced by the word, character for character."""
    text = _VARIANT.sub(lambda m: _VARIANTS[m.group()], text)
    text = _YEARS.sub(lambda m: chinese_number(int(m.group(1))) if int(m.group(1)) else m.group(1), text)
    for pattern, replacement in _CONTEXT_VARIANTS:
        text = pattern.sub(replacement or (lambda m: m.group()[:-1] + "码"), text)
    return _SPACED_PINYIN.sub(lambda m: m.group().replace(" ", "").ljust(len(m.group())), text)


def latin_words(word: str) -> tuple[str, ...]:
    """One English word as the words it stands for: "can't" → ("can", "not"),
    "wi-fi" → ("wifi",), "cards" → ("card",)."""
    word = word.replace("-", "")
    if word in CONTRACTIONS:
        return CONTRACTIONS[word]
    if word in SHORTHAND:
        return tuple(map(stem, SHORTHAND[word]))
    for suffix in ("n't", "nt"):
        verb = word.removesuffix(suffix)
        if verb != word and verb in NOT_SUFFIXED:
            return (verb, "not")
    word = word.split("'")[0]  # "it's" → "it", "terminal's" → "terminal"
    return (stem(word),)


def stem(word: str) -> str:
    """A crude English stem, the same for phrases and texts, so that a phrase need not
    be written in every form: "installed", "installs", "installing" → "install";
    "dropped" → "drop"; "batteries" → "battery"; "update", "updated" → "updat". The
    words this module looks for ("not", "nothing", "working"…) stay as they are."""
    if word in PROTECTED or not word.isalpha():
        return word
    if word in IRREGULAR:
        return stem(IRREGULAR[word]) if IRREGULAR[word] != word else word
    if len(word) <= 3:
        return word
    for suffix, replacement in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is", "os")):
                break
            word = word[: -len(suffix)] + replacement
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]  # "dropp" → "drop", but "install", "press"
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


# The fault words a topic ends with, stemmed like the words they are compared with.
TOPIC_TAILS = frozenset(map(stem, _TOPIC_TAIL_WORDS))
GENERIC_TOPICS = frozenset(map(stem, _GENERIC_TOPIC_WORDS))


def words(text: str, tokenizer: jieba.Tokenizer) -> Iterator[Token]:
    """The normalised text's words, list links and clause stops, in order."""
    runs = list(_RUN.finditer(text))
    for n, run in enumerate(runs):
        kind, offset = run.lastgroup, run.start()
        if kind == "han":
            cut = list(tokenizer.tokenize(run.group(), HMM=False))
            for word, start, end in cut:
                if (
                    word == cut[-1][0]
                    and word in KEEPS
                    and n + 1 < len(runs)
                    and runs[n + 1].lastgroup == "latin"
                    and runs[n + 1].group() not in PINYIN
                ):
                    yield Token("keep", offset + start, offset + end, "latin")
                else:
                    yield Token(canonical_negators(word), offset + start, offset + end, kind)
        elif kind == "latin" and run.group() in PINYIN:
            # ...cut as the characters would be ("weijihuo" is "未" + "激活")
            for word, _, _ in tokenizer.tokenize(PINYIN[run.group()], HMM=False):
                yield Token(canonical_negators(word), offset, run.end(), "han")
        elif kind == "latin":
            for word in latin_words(run.group()):
                yield Token(word, offset, run.end(), kind)
        else:
            yield Token(run.group(), offset, run.end(), kind)


def canonical_negators(word: str) -> str:
    """A Chinese word with "没有" and "未" written "没" (see ``NEGATOR_FORMS``)."""
    if word in UNSURE or word in GUESSES or not ("没" in word or "未" in word):
        return word
    for form, canonical in NEGATOR_FORMS:
        word = word.replace(form, canonical)
    return word


def clauses(tokens: Iterable[Token]) -> list[Clause]:
    """The clauses of a text, without their filler words; a denied list written with
    commas is one clause (see ``LIST_NEGATORS``)."""
    segments: list[tuple[list[Token], bool, list[str], str]] = []
    current: list[Token] = []
    lead: list[str] = []  # the first two words of the clause, fillers included
    for token in tokens:
        if token.kind == "stop" or token.text in CONTRASTS:
            segments.append((current, "?" in token.text, lead, token.text))
            current, lead = [], []
            continue
        if len(lead) < 2:
            lead.append(token.text)
        if token.text not in FILLERS:
            current.append(token)
    segments.append((current, False, lead, ""))
    found: list[Clause] = []
    i = 0
    while i < len(segments):
        words_, question, lead, _ = segments[i]
        end = denied_list(segments, i)
        for following, *_ in segments[i + 1 : end + 1]:
            link = Token("、", words_[-1].end, following[0].start, "coord")
            words_ = [*words_, link, *following]
        question = segments[end][1]
        found.append(make_clause(words_, question=question, lead=lead))
        i = end + 1
    return [c for c in found if c.tokens]


def denied_list(segments: Sequence[tuple[list[Token], bool, list[str], str]], i: int) -> int:
    """The last segment of a denied list that starts at segment ``i`` and goes on after
    commas, its items short and its last one linked ("…, smoke or liquid"); else ``i``."""
    words_ = segments[i][0]
    if not words_ or words_[0].text not in LIST_NEGATORS or len(words_) > 1 + LIST_ITEM:
        return i
    for j in range(i, len(segments) - 1):
        if segments[j][3] != "," or not short_items(segments[j + 1][0]):
            return i
        if any(t.text in COORDINATORS for t in segments[j + 1][0]):
            return j + 1
    return i


def make_clause(tokens: Sequence[Token], *, question: bool, lead: Sequence[str] = ()) -> Clause:
    text, starts, ends = compact(tokens)
    asks = question and bool(lead) and lead[0] in ASKING and lead[1:2] != ["not"]
    question = question or any(t.text in QUESTION_WORDS for t in tokens)
    return Clause(tuple(tokens), text, starts, ends, question, asks)


def bygone(clause: Clause, reading: Reading) -> bool:
    """Does the reading say that something worked, in the past ("以前刷卡都正常")?"""
    said = clause.tokens[reading.first : reading.last + 1]
    works = any(t.text in FINE or t.text in WORKS for t in said) or any(
        (a.text, b.text) in FINE_PAIRS for a, b in zip(said, said[1:], strict=False)
    )
    return works and any(t.text in PAST for t in clause.tokens[: reading.first])


def hearsay(clause: Clause, first: int) -> bool:
    """Is the phrase at token ``first`` what other people say of their own terminals (after
    one of ``OTHERS`` and then one of ``SAYS``, in its clause)?"""
    others = False
    for token in clause.tokens[:first]:
        if token.text in OTHERS:
            others = True
        elif others and token.text in SAYS:
            return True
    return False


def asked(clause: Clause, first: int, last: int) -> bool:
    """Is the phrase at tokens ``first``..``last`` wondered about rather than stated: after
    a guess in its clause, before a "try it" (advice), in an English yes/no question, or
    asked with "吗"?"""
    tokens = clause.tokens
    if clause.asks or any(t.text in GUESSES for t in tokens[:first]):
        return True
    if any(t.text in TRIES for t in tokens[last + 1 :]):
        return True  # advice: something to try
    if last + 1 < len(tokens) and tokens[last + 1].text in QUESTION_WORDS:
        return True
    if a_not_a(tokens, last):
        return True
    return (
        first > 0
        and tokens[first - 1].text in IS_IT
        and any(t.text in QUESTION_WORDS for t in tokens[last + 1 :])
    )


def a_not_a(tokens: Sequence[Token], a: int) -> bool:
    """Does the word at ``a`` start an A-not-A question ("卡槽脏不脏", "网络通没通": the
    word, a negator, and the word's end again)?"""
    return (
        a >= 0
        and a + 2 < len(tokens)
        and tokens[a + 1].text in A_NOT_A
        and tokens[a].text.endswith(tokens[a + 2].text)
    )


def compact(tokens: Sequence[Token]) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """The tokens joined: a space only between two English words or numbers."""
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position, previous_latin = 0, False
    for token in tokens:
        latin = token.kind == "latin"
        if latin and previous_latin:
            parts.append(" ")
            position += 1
        starts.append(position)
        parts.append(token.text)
        position += len(token.text)
        ends.append(position)
        previous_latin = latin
    return "".join(parts), tuple(starts), tuple(ends)


# --- The tokenizer: jieba's dictionary is loaded once per process, copied per phrasebook


@cache
def base_tokenizer() -> jieba.Tokenizer:
    """jieba's own dictionary, loaded once per process (about half a second, or less
    from jieba's cache file in the temporary directory)."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def phrase_tokenizer(words_to_add: Iterable[str]) -> jieba.Tokenizer:
    """A tokenizer with the phrases as its user dictionary. It copies the base
    dictionary (a few milliseconds) instead of adding words to the global one, so that
    the phrasebooks of two knowledge revisions never change each other's words."""
    base = base_tokenizer()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total = dict(base.FREQ), base.total
    tokenizer.initialized = True
    for word in sorted(VOCABULARY_WORDS) + list(words_to_add):
        tokenizer.add_word(word)
    return tokenizer


# --- Phrases


def dictionary_words(run: str) -> list[str]:
    """The words a run of Chinese characters adds to the user dictionary: the run itself,
    or, where it holds a filler ("进水了", "装了别的软件"), the pieces between fillers
    ("进水", "别的软件"). A dictionary word never holds a filler, so a phrase and a text
    lose the same fillers: "进水了", "进过水" and "进水" all read "进水". Nor does it
    hold a "works fine" word, so that "刷卡正常" stays "刷卡" + "正常" for the topics.
    Only "一直" or "总是" with a single word ("一直重启", see ``REPEATS``) stays whole."""
    cut = base_tokenizer().lcut(run, HMM=False)
    if len(cut) == 2 and cut[0] in REPEATS:
        return [run]
    pieces: list[str] = [""]
    for word in cut:
        if word in FILLERS or word in FINE:
            pieces.append("")
        else:
            pieces[-1] += word
    return [piece for piece in pieces if len(piece) > 1]


def cutoff(key: str) -> int:
    """The score a phrase needs. A typo is tolerated only in a longer phrase, never in a
    number (an error code), and a Chinese phrase needs more characters than an English
    one: one wrong character in a four-character phrase is another phrase."""
    if any(c.isdigit() for c in key):
        return 100
    if _HAN.search(key):
        return 100 if len(key) < 6 else 83
    if len(key) <= 4:
        return 100
    return 88 if len(key) <= 8 else 84


def content_words(text: str, tokenizer: jieba.Tokenizer) -> list[Token]:
    """The words of a phrase that say something: Chinese and English words, no fillers."""
    return [t for t in words(text, tokenizer) if t.kind in ("han", "latin") and t.text not in FILLERS]


def topic_key(text: str) -> str:
    """What a phrase is about without the fault words at its end ("网络不好" → "网络"),
    or "" when it ends in none, has one inside ("开不了机"), or nothing specific is left.
    Cut with jieba's own dictionary: "网络不好" is one word of the phrasebook's."""
    tokens = content_words(text, base_tokenizer())
    if len(tokens) > 1 and tokens[-1].text == "too":
        tokens = tokens[:-1]  # "my phone is offline too" is about the phone all the same
    start, end = 0, len(tokens)
    if end > 1 and tokens[-1].text in ("work", "working") and tokens[-2].text in TOPIC_HEADS:
        end -= 1  # "wifi not working"; but "card payments work" says all is well
    while start < end and tokens[start].text in TOPIC_HEADS:
        start += 1
    tail = end
    while end > start and tokens[end - 1].text in TOPIC_TAILS:
        end -= 1
    kept = tokens[start:end]
    if end == tail == len(tokens) or any(t.text in TOPIC_HEADS or t.text in TOPIC_TAILS for t in kept):
        return ""
    key = compact(kept)[0]
    too_short = len(key) < (2 if _HAN.search(key) else 4)
    return "" if too_short or key in GENERIC_TOPICS else key


def compile_phrases(
    mapping: Mapping[str, Mapping[str, Sequence[str]]], tokenizer: jieba.Tokenizer
) -> list[Phrase]:
    """Every usable phrase once per symptom, and the topics. A single letter, or a phrase
    of a single Chinese character, is too vague to be evidence and is left out; but "摔了"
    is how people say it, and counts as "摔" (a whole word, never part of one)."""
    phrases: dict[tuple[str, str], Phrase] = {}
    negated: dict[tuple[str, str], Phrase] = {}
    topics: dict[str, dict[str, list[Phrase]]] = {}
    for symptom, languages in mapping.items():
        for text in (text for texts in languages.values() for text in texts if PAIR not in text):
            tokens = [
                t for t in words(normalise(text), tokenizer) if t.kind != "stop" and t.text not in FILLERS
            ]
            key = compact(tokens)[0]
            if len(key) < 2 and not (_HAN.match(key) and len(normalise(text).strip()) > 1):
                continue
            phrases.setdefault((symptom, key), Phrase(symptom, text, key, cutoff(key), topic=False))
            for inverted in inverted_keys(normalise(text)):
                negated.setdefault((symptom, inverted), Phrase(symptom, text, inverted, 100, False, True))
            topic = topic_key(normalise(text))
            if topic:
                topics.setdefault(topic, {}).setdefault(symptom, []).append(
                    Phrase(symptom, text, topic, 100, True)
                )
    # A phrase as written wins over another's with a negator inside ("有时候不好" is one).
    written = {p.key for p in phrases.values()}
    kept = [p for p in negated.values() if p.key not in written]
    return (
        list(phrases.values())
        + kept
        + [phrase for owners in topics.values() for phrase in topic_owners(owners)]
    )


def inverted_keys(text: str) -> list[str]:
    """The phrase with a negator between two of its words ("屏幕碎了" → "屏幕没碎",
    "屏幕不碎"; "battery swollen" → "battery not swollen"), cut with jieba's own
    dictionary; none for a phrase that holds a negation already ("读不了卡", "no signal")."""
    tokens = content_words(text, base_tokenizer())
    if len(tokens) < 2 or any(t.text in NEGATORS or set(t.text) & NEGATION_CHARACTERS for t in tokens):
        return []
    keys = []
    for i in range(1, len(tokens)):
        for negator in INNER_NEGATORS[tokens[i].kind]:
            inserted = Token(negator, tokens[i].start, tokens[i].start, tokens[i].kind)
            keys.append(compact([*tokens[:i], inserted, *tokens[i:]])[0])
    return keys


def topic_owners(owners: dict[str, list[Phrase]]) -> list[Phrase]:
    """A topic belongs to the symptom with the most phrases about it: "网络正常" says the
    network is not down (four phrases), not that a payment did not time out (one)."""
    most = max(len(phrases) for phrases in owners.values())
    return [phrases[0] for phrases in owners.values() if len(phrases) == most]


# --- Matching


def locate(phrase: Phrase, index: int, clause: Clause, vocabulary: frozenset[str]) -> Match | None:
    """Where ``phrase`` is in ``clause``, widened to whole words and scored again, so
    that a phrase inside a longer word ("进水" in "进水果") does not count."""
    for start, end in places(phrase, clause.compact):
        while start < end and clause.compact[start] == " ":
            start += 1
        first = bisect_right(clause.starts, start) - 1
        last = bisect_left(clause.ends, end)
        if first < 0 or last >= len(clause.tokens):
            continue
        if last + 1 < len(clause.tokens) and short_before_negator(phrase.key, clause.tokens[last].text):
            continue  # "什么提示都没有" ends its clause: in "提示没信号", "没" is about "信号"
        covered = clause.compact[clause.starts[first] : clause.ends[last]]
        score = fuzz.ratio(phrase.key, covered)
        near = score >= phrase.cutoff and typos_only(phrase.key, covered, vocabulary)
        if score == 100 or near:
            return Match(phrase, index, first, last, score, near=score < 100)
        between = gaps_only(phrase.key, [t.text for t in clause.tokens[first : last + 1]])
        if between is not None:
            # "不能正常刷卡" is "不能刷卡" said "normally"; "机器开机正常" is not "机器正常".
            return Match(phrase, index, first, last, score, gapped=between not in FINE)
    return None


def short_before_negator(key: str, last: str) -> bool:
    """Does a phrase end in its negator after a word or two ("提示没" for "什么提示都没
    有")? Such a phrase must end its clause; a longer one says enough before it ("支持
    列表里没有我的型号")."""
    return last in AFTER_NEGATORS and len(key) - len(last) <= 3


# How many places RapidFuzz may align a phrase with a typo: the best one may straddle a
# word ("示请输入授权" in "显示请输入授权吗", as good as "请输入授权吗"), the next one not.
ALIGNMENTS = 3


def places(phrase: Phrase, text: str) -> Iterator[tuple[int, int]]:
    """Where the phrase may be in ``text``: as it is; in Chinese, with a word or two
    between its characters ("换路由器" in "换新路由器"); or, for a phrase that tolerates
    typos, where RapidFuzz aligns it best, then the next best places to its right."""
    key = phrase.key
    found = text.find(key)
    if found >= 0:
        yield found, found + len(key)
    elif _HAN.search(key) and (span := spread(key, text)):
        yield span
    elif phrase.cutoff < 100:
        offset = 0
        for _ in range(ALIGNMENTS):
            aligned = fuzz.partial_ratio_alignment(key, text[offset:], score_cutoff=phrase.cutoff)
            if aligned is None:
                break
            start = offset + aligned.dest_start
            yield start, offset + aligned.dest_end
            if _HAN.search(key) and aligned.dest_end - aligned.dest_start < len(key):
                # A character short: the same length with one wrong ("算法改了" for "算法变了").
                yield start, min(start + len(key), len(text))
            offset += aligned.dest_start + 1


def spread(key: str, text: str) -> tuple[int, int] | None:
    """The first place where the characters of ``key`` stand in order with at most
    ``GAP`` others between them."""
    start = text.find(key[0])
    while start >= 0:
        end = start + 1
        for character in key[1:]:
            end = text.find(character, end, start + len(key) + GAP) + 1
            if not end:
                break
        else:
            return start, end
        start = text.find(key[0], start + 1)
    return None


def gaps_only(key: str, words: Sequence[str]) -> str | None:
    """The words between, when ``words`` say a Chinese phrase with a word or two
    between its own (at most ``GAP`` characters, no negation): "不能正常刷卡" says "不能
    刷卡", "换新路由器" says "换路由器", "鼓个包" says "鼓包"; "升级后用不了" does not say
    "升级不了" (a word is either the phrase's or in between, never cut), nor "升级没失败"
    "升级失败", nor "计算方式要改" "计算方式改了" (see ``INTENT``)."""
    if not _HAN.search(key):
        return None
    at, between = 0, ""
    for word in words:
        if key.startswith(word, at):
            at += len(word)
        elif at in (0, len(key)) or word in INTENT or word in SEQUENCE:
            return None
        else:
            between += word
    fits = at == len(key) and 0 < len(between) <= GAP and not set(between) & NEGATION_CHARACTERS
    return between if fits else None


def typos_only(key: str, covered: str, vocabulary: frozenset[str]) -> bool:
    """Does a near match differ from its phrase by typos only? In English, a letter or
    two of a long word ("authorizaton"), never a short word ("screen line" is not
    "screen fine"), never a word the phrasebook knows ("blank screen" is not "black
    screen"), never a word more or less ("authorization code" is not "no authorization
    code"); in Chinese, one wrong character that is not a negation ("没" for "能" is no
    typo) nor says how something is ("是" for "坏", see ``NEVER_TYPOS``), and never one
    missing or one more at its start or end ("手续费计算" is not "手续费计算变了")."""
    if _HAN.search(key):
        ops = Levenshtein.editops(key, covered)
        changed = {key[op.src_pos] for op in ops if op.tag != "insert"}
        changed |= {covered[op.dest_pos] for op in ops if op.tag != "delete"}
        inside = all(op.tag == "replace" or 0 < op.src_pos < len(key) - (op.tag == "delete") for op in ops)
        return len(ops) <= 1 and inside and not changed & NEVER_TYPOS
    phrase_words, text_words = key.split(), covered.split()
    if len(phrase_words) != len(text_words):  # "thirdparty app" for "third party app"
        return key.replace(" ", "") == covered.replace(" ", "")
    return all(
        a == b or (b not in vocabulary and Levenshtein.distance(a, b) <= typos(a))
        for a, b in zip(phrase_words, text_words, strict=True)
    )


def typos(word: str) -> int:
    """How many letters of an English word may be wrong."""
    return 0 if len(word) < 6 else 1 if len(word) < 10 else 2


def outermost(matches: list[Match]) -> list[Match]:
    """Leave out a match that lies inside a longer one: "error" inside "communication
    error", "授权码" inside "没有授权码"; but a phrase found with words between its own
    gives way to one found as it is among them ("机器开机正常" is "开机正常", not
    "机器正常"), and one found with a typo does not hide one found as it is inside it
    ("升级后就刷不了" holds "刷不了")."""

    def inside(m: Match, o: Match) -> bool:
        return o.first <= m.first and m.last <= o.last and (o.last - o.first) > (m.last - m.first)

    def exact(m: Match) -> bool:
        return not (m.gapped or m.near)

    kept = [o for o in matches if not (o.gapped and any(exact(m) and inside(m, o) for m in matches))]
    return [m for m in kept if not any(inside(m, o) and not (o.near and exact(m)) for o in kept)]


# --- Polarity


def negation_before(clause: Clause, first: int, blocked: set[int]) -> tuple[str, int]:
    """Looking back from token ``first``: ("negated", index of the negator), ("unsure", i)
    or ("", first). Stops at another match, a list link or a barrier word."""
    tokens = clause.tokens
    negators, at = 0, first
    for i in range(first - 1, -1, -1):
        text = tokens[i].text
        if text in COORDINATORS and listed(tokens, first):
            return "negated", 0
        if i in blocked or text in BARRIERS or text in COORDINATORS or not within_reach(tokens, i, first):
            break
        if text in UNSURE:
            return "unsure", i
        if text in NEGATORS:
            follower = tokens[i + 1].text
            if follower in UNSURE_AFTER_NEGATOR:
                return "unsure", i
            if follower not in KNOW_AFTER_NEGATOR:
                negators, at = negators + 1, i
    return ("negated" if negators % 2 else ""), at


def short_items(tokens: Sequence[Token]) -> bool:
    """Is ``tokens`` one or more list items, each of at most ``LIST_ITEM`` words?"""
    item = 0
    for token in tokens:
        item = 0 if token.text in COORDINATORS else item + 1
        if item > LIST_ITEM or token.text in NEGATORS:
            return False
    return bool(tokens) and item > 0


def listed(tokens: Sequence[Token], first: int) -> bool:
    """Is the word at ``first`` an item of a list denied from the start of its clause
    ("没有异味、冒烟或者进水": "冒烟" is denied, though "异味" is no phrase)?"""
    if not tokens or tokens[0].text not in LIST_NEGATORS:
        return False
    item = 0
    for token in tokens[1:first]:
        if token.text in COORDINATORS:
            item = 0
        elif token.text in NEGATORS or token.text in BARRIERS or item == LIST_ITEM:
            return False
        else:
            item += 1
    return True


def within_reach(tokens: Sequence[Token], i: int, first: int) -> bool:
    """Can a negator at ``i`` reach the phrase at ``first``?"""
    if tokens[first].kind == "latin":
        return first - i <= LATIN_REACH
    return first - i <= 3 and all(t.text in BRIDGES for t in tokens[i + 1 : first])


def negation_after(clause: Clause, last: int) -> int | None:
    """The index of a negator that ends the clause right after the phrase ("鼓包没有")."""
    if last + 2 == len(clause.tokens) and clause.tokens[last + 1].text in AFTER_NEGATORS:
        return last + 1
    return None


def fine_after(clause: Clause, last: int, blocked: set[int]) -> int | None:
    """The index of the last word of a "works fine" statement right after token
    ``last`` ("网络都很正常", "wifi works", "没问题"), unless the clause is a question."""
    tokens = clause.tokens
    if clause.question:
        return None
    i = last + 1
    while i < len(tokens) and tokens[i].text in FINE_LEADS:
        i += 1
    if i >= len(tokens) or i in blocked:
        return None
    very = tokens[i].text in VERY and i + 1 < len(tokens) and tokens[i + 1].kind == "han"
    if tokens[i].text in FINE and not very:
        return i
    if i + 1 < len(tokens) and (tokens[i].text, tokens[i + 1].text) in FINE_PAIRS:
        return i + 1
    return None


def linked(clause: Clause, before: Match, after: Match, *, adjacent: bool) -> bool:
    """Are two matches items of one list ("鼓包、冒烟或进水"; with ``adjacent``, also
    "鼓包冒烟进水都没有")?"""
    between = clause.tokens[before.last + 1 : after.first]
    if not between:
        return adjacent and before.last < after.first
    return all(t.text in COORDINATORS for t in between)


def read_direct(clause: Clause, matches: list[Match]) -> list[Reading]:
    """Polarity of the phrase matches of one clause (a phrase with a negator between its
    words, the other way round; negated again, it says nothing sure). A negation before the first item of
    a list ("没有鼓包、冒烟或进水"), or after its last ("鼓包冒烟进水都没有"), covers every
    item; items side by side without a link make a list only for a negation after them:
    in "没有错误提示读不了卡" the card still cannot be read."""
    blocked = {i for m in matches for i in range(m.first, m.last + 1)}
    absent: dict[Match, tuple[int, int]] = {}
    unsure: set[Match] = set()
    for chain in chains(clause, matches, adjacent=False):
        state, negator = negation_before(clause, chain[0][0].first, blocked)
        items = [m for slot in chain for m in slot]
        if state == "unsure":
            unsure.update(items)
        elif state == "negated":
            absent.update({m: (negator if m in chain[0] else m.first, m.last) for m in items})
    last_chain = (chains(clause, matches, adjacent=True) or [[]])[-1]
    after = negation_after(clause, last_chain[-1][0].last) if last_chain else None
    if after is not None:
        for m in (m for slot in last_chain for m in slot if m not in absent):
            absent[m] = (m.first, after if m in last_chain[-1] else m.last)
    readings = [
        Reading(m, "absent", *absent[m]) if m in absent else Reading(m, "present", m.first, m.last)
        for m in matches
        if m not in unsure
    ]
    return [
        r._replace(polarity="absent") if r.match.phrase.inverted else r
        for r in readings
        if not (r.match.phrase.inverted and r.polarity == "absent")
    ]


def chains(clause: Clause, matches: list[Match], *, adjacent: bool) -> list[list[list[Match]]]:
    """The matches of a clause in order: lists (joined by "、/和/or") of slots (the
    matches of the same words, such as "进水" for two symptoms)."""
    groups: list[list[list[Match]]] = []
    for m in sorted(matches, key=lambda m: (m.first, m.last)):
        previous = groups[-1][-1][0] if groups else None
        if previous and (previous.first, previous.last) == (m.first, m.last):
            groups[-1][-1].append(m)
        elif previous and linked(clause, previous, m, adjacent=adjacent):
            groups[-1].append([m])
        else:
            groups.append([[m]])
    return groups


def read_topics(clause: Clause, topics: list[Match], direct: list[Match]) -> list[Reading]:
    """Topics followed by a "works fine" word: "网络正常" says the network is not down.
    The "fine" word must not belong to another phrase, unless that phrase covers the
    topic too ("开机正常" is both a phrase of its own and "开机" + "正常")."""
    readings = []
    for m in topics:
        others = (o for o in direct if o.last < m.first or o.first > m.last)
        blocked = {i for o in others for i in range(o.first, o.last + 1)}
        end = fine_after(clause, m.last, blocked)
        if end is not None and not elsewhere(clause, m):
            readings.append(Reading(m, "absent", m.first, end))
    return readings


def elsewhere(clause: Clause, m: Match) -> bool:
    """Is a "works fine" statement about another device named in its clause ("wifi is fine
    on my phone", "手机上网络正常"), not the terminal, unless the phrase names it too?"""
    named = {t.text for t in clause.tokens[m.first : m.last + 1]}
    return any(t.text in OTHER_DEVICES and t.text not in named for t in clause.tokens)


# --- Pairs: a thing and what is wrong with it, anywhere in one clause

# A phrase "卡槽/插卡口 + 脏/油污" names a thing and a state (a few ways of saying each):
# a clause that holds one of each, in either order and at most ``PAIR_REACH`` words
# apart, says the symptom ("插卡口黑乎乎的全是油"); a negator just before the state says
# it is absent ("卡槽一点都不脏"). One phrase covers what would otherwise be every
# combination written out.
PAIR = " + "
PAIR_REACH = 6
# A pair ranks below a phrase found as it is, so that the written phrase of another
# option of the same question wins over a pair.
PAIR_SCORE = 90.0


class Pair(NamedTuple):
    phrase: Phrase  # the symptom, and the pair as written
    things: tuple[str, ...]  # each compacted like a clause
    states: tuple[str, ...]


def compile_pairs(
    mapping: Mapping[str, Mapping[str, Sequence[str]]], tokenizer: jieba.Tokenizer
) -> list[Pair]:
    """The pairs among the phrases; one with an empty side is left out."""
    pairs: dict[tuple[str, tuple[str, ...], tuple[str, ...]], Pair] = {}
    for symptom, languages in mapping.items():
        for text in (text for texts in languages.values() for text in texts if PAIR in text):
            thing, _, state = normalise(text).partition(PAIR)
            things, states = pair_side(thing, tokenizer), pair_side(state, tokenizer)
            if things and states:
                key = f"{'/'.join(things)}{PAIR}{'/'.join(states)}"
                phrase = Phrase(symptom, text, key, 100, topic=False)
                pairs.setdefault((symptom, things, states), Pair(phrase, things, states))
    return list(pairs.values())


def pair_side(side: str, tokenizer: jieba.Tokenizer) -> tuple[str, ...]:
    keys = []
    for alternative in side.split("/"):
        tokens = content_words(alternative, tokenizer)
        if tokens:
            keys.append(compact(tokens)[0])
    return tuple(dict.fromkeys(keys))


class Span(NamedTuple):
    first: int  # token indices in the clause, inclusive
    last: int
    start: int  # character offsets in the clause's compact text
    end: int


def whole_words(key: str, clause: Clause) -> Iterator[Span]:
    """Where ``key`` is in ``clause`` as whole words; a Chinese key of two characters or
    more may also start or end a longer word ("卡槽" in "卡槽里", "卡死" in jieba's
    "支付卡" + "死"), never stand inside one."""
    loose = len(key) > 1 and _HAN.fullmatch(key) is not None
    start = clause.compact.find(key)
    while start >= 0:
        end = start + len(key)
        first = bisect_right(clause.starts, start) - 1
        last = bisect_left(clause.ends, end)
        if first >= 0 and last < len(clause.ends):
            starts, ends = clause.starts[first] == start, clause.ends[last] == end
            if (starts and ends) or (loose and (starts or ends)):
                yield Span(first, last, start, end)
        start = clause.compact.find(key, start + 1)


def words_between(a: Span, b: Span) -> int | None:
    """How many words stand between two spans that do not overlap (none when they share a
    word, each holding a part of it), or None when they overlap."""
    if a.end <= b.start:
        return max(0, b.first - a.last - 1)
    if b.end <= a.start:
        return max(0, a.first - b.last - 1)
    return None


def read_pair(pair: Pair, index: int, clause: Clause, blocked: set[int]) -> Reading | None:
    """The closest thing and state of ``pair`` in the clause, with its polarity; None when
    there is none within reach, or the state is only wondered about ("不知道脏不脏")."""
    things = [span for key in pair.things for span in whole_words(key, clause)]
    states = [span for key in pair.states for span in whole_words(key, clause)] if things else []
    closest = None
    for thing in things:
        for state in states:
            gap = words_between(thing, state)
            if gap is not None and gap <= PAIR_REACH and (closest is None or gap < closest[0]):
                closest = (gap, thing, state)
    if closest is None:
        return None
    _, thing, state = closest
    if a_not_a(clause.tokens, state.first) or a_not_a(clause.tokens, state.first - 2):
        return None  # "卡槽脏不脏" asks
    first, last = min(thing.first, state.first), max(thing.last, state.last)
    match = Match(pair.phrase, index, first, last, PAIR_SCORE, gapped=True)
    outside = {i for i in blocked if not first <= i <= last} | set(range(thing.first, thing.last + 1))
    said, negator = negation_before(clause, state.first, outside)
    if thing.start < state.start:
        before, outer = negation_before(clause, first, blocked)  # "没发现卡槽有灰"
        if before == "unsure" or (before == "negated" and said == "negated"):
            return None  # wondered about, or negated twice ("不是屏幕没碎"): nothing sure
        if before == "negated":
            said, negator = before, outer
    if said == "unsure":
        return None
    after = negation_after(clause, last)
    if said == "negated" or after is not None:
        return Reading(match, "absent", min(first, negator), after if after is not None else last)
    return Reading(match, "present", first, last)


# --- The phrasebook


class Candidates(NamedTuple):
    """Phrases of one script that RapidFuzz scores against every clause of that script
    at once: a clause is a candidate for a phrase when the score reaches its threshold."""

    script: re.Pattern
    scorer: Callable
    indices: list[int]  # into the phrasebook's phrases
    keys: list[str]
    thresholds: np.ndarray

    @classmethod
    def near(cls, phrases: list[Phrase], script: re.Pattern) -> Candidates:
        """The phrases that tolerate a typo, by ``partial_ratio``."""
        indices = [i for i, p in enumerate(phrases) if p.cutoff < 100 and script.search(p.key)]
        return cls(script, fuzz.partial_ratio, indices, *cls.columns(phrases, indices, lambda p: p.cutoff))

    @classmethod
    def spread(cls, phrases: list[Phrase]) -> Candidates:
        """The Chinese phrases, whose characters may have others between them: every one
        of them must be in the clause, in order (the longest common subsequence)."""
        indices = [
            i for i, p in enumerate(phrases) if _HAN.search(p.key) and len(p.key) > 1 and not p.inverted
        ]
        return cls(_HAN, LCSseq.similarity, indices, *cls.columns(phrases, indices, lambda p: len(p.key)))

    @staticmethod
    def columns(phrases: list[Phrase], indices: list[int], threshold) -> tuple[list[str], np.ndarray]:
        keys = [phrases[i].key for i in indices]
        return keys, np.array([threshold(phrases[i]) for i in indices], dtype=np.int32)

    def hits(self, found: list[Clause]) -> list[tuple[int, int]]:
        """(clause, phrase) pairs whose score reaches the phrase's threshold."""
        columns = [column for column, c in enumerate(found) if self.script.search(c.compact)]
        if not columns or not self.keys:
            return []
        texts = [found[column].compact for column in columns]
        # Below the lowest threshold a score is never used: RapidFuzz may stop early there.
        lowest = int(self.thresholds.min())
        scores = process.cdist(self.keys, texts, scorer=self.scorer, dtype=np.int32, score_cutoff=lowest)
        return [
            (columns[col], self.indices[row]) for row, col in np.argwhere(scores >= self.thresholds[:, None])
        ]


class Phrasebook:
    """Every symptom's phrases, compiled once (a snapshot caches one per knowledge
    revision); :meth:`understand` reads a text with them."""

    def __init__(self, phrases: list[Phrase], tokenizer: jieba.Tokenizer, pairs: Sequence[Pair] = ()):
        self.phrases = phrases
        self.pairs = list(pairs)
        self.tokenizer = tokenizer
        # The English words of the phrases: a word the phrasebook knows is never a typo.
        self.vocabulary = frozenset(w for p in phrases if not _HAN.search(p.key) for w in p.key.split())
        # Most phrases must match exactly: a plain substring test finds them. RapidFuzz
        # scores the others (a typo, or words between the characters of a Chinese
        # phrase), each against the clauses written in its script.
        # ...filed by their first character (Chinese) or word (English), so that only
        # those that may start somewhere in a text are looked for.
        self.exact: dict[str, list[tuple[int, str]]] = {}
        for i, p in enumerate(phrases):
            if p.cutoff == 100:
                self.exact.setdefault(head(p.key), []).append((i, p.key))
        self.scored = [
            Candidates.near(phrases, _HAN),
            Candidates.near(phrases, _LATIN),
            Candidates.spread(phrases),
        ]

    @classmethod
    def from_phrases(cls, mapping: Mapping[str, Mapping[str, Sequence[str]]]) -> Phrasebook:
        """Build from ``{symptom slug: {"zh-hans": [...], "en": [...]}}``."""
        texts = [text for languages in mapping.values() for each in languages.values() for text in each]
        runs = {run for text in texts for run in _HAN.findall(normalise(text))}
        tokenizer = phrase_tokenizer(sorted({word for run in runs for word in dictionary_words(run)}))
        return cls(compile_phrases(mapping, tokenizer), tokenizer, compile_pairs(mapping, tokenizer))

    def understand(self, text: str, *, exclusive: Iterable[set[str]] = ()) -> list[Fact]:
        """The facts ``text`` states, in the order it states them. ``exclusive`` are
        groups of symptoms of which at most one can be present (the options of one
        choice question): only the best-scoring present one of a group is kept."""
        if not isinstance(text, str) or not (self.phrases or self.pairs):
            return []
        normalised = normalise(text)
        found = clauses(words(normalised, self.tokenizer))
        if not found:
            return []
        joined = "\n".join(c.compact for c in found)
        candidates = self.candidates(found, joined)
        pairs = self.pair_candidates(joined)
        readings = [r for index, c in enumerate(found) for r in self.read(index, c, candidates[index], pairs)]
        over = settled(normalised)
        readings = [r for r in readings if not any(a <= position(found, r) < b for a, b in over)]
        best = choose(readings, [set(group) for group in exclusive])
        return [fact(normalised, found, r) for r in sorted(best, key=lambda r: position(found, r))]

    def candidates(self, found: list[Clause], joined: str) -> list[list[int]]:
        """For each clause, the phrases that may be in it, to be located word by word
        (``joined``: the clauses' compact texts, one a line)."""
        chosen: list[set[int]] = [set() for _ in found]
        heads = set(_HAN_CHARACTER.findall(joined)) | set(_LATIN_WORD.findall(joined))
        exact = (pair for h in heads for pair in self.exact.get(h, ()))
        for index, key in exact:
            if key in joined:
                for column, c in enumerate(found):
                    if key in c.compact:
                        chosen[column].add(index)
        for candidates in self.scored:
            for column, index in candidates.hits(found):
                chosen[column].add(index)
        return [sorted(indices) for indices in chosen]

    def pair_candidates(self, joined: str) -> list[Pair]:
        """The pairs whose thing and state both appear somewhere in the text."""
        return [
            pair
            for pair in self.pairs
            if any(key in joined for key in pair.states) and any(key in joined for key in pair.things)
        ]

    def read(
        self, index: int, clause: Clause, candidates: Iterable[int], pairs: Iterable[Pair] = ()
    ) -> list[Reading]:
        matches = [
            m for m in (locate(self.phrases[p], index, clause, self.vocabulary) for p in candidates) if m
        ]
        direct = outermost([m for m in matches if not m.phrase.topic])
        topics = [m for m in matches if m.phrase.topic]
        readings = read_direct(clause, direct) + read_topics(clause, topics, direct)
        blocked = {i for m in direct for i in range(m.first, m.last + 1)}
        readings += [r for r in (read_pair(pair, index, clause, blocked) for pair in pairs) if r]
        return [
            r
            for r in readings
            if not asked(clause, r.match.first, r.match.last)
            and not bygone(clause, r)
            and not hearsay(clause, r.match.first)
        ]


def settled(text: str) -> list[tuple[int, int]]:
    """Where the (normalised) text tells of a problem that is over (see ``SETTLED``): from
    the start of such a sentence to the end of its last word that puts it right (what
    comes after, "现在升级后…", is about now)."""
    spans = []
    for sentence in _SENTENCE.finditer(text):
        said = sentence.group().lstrip(" ,")
        ends = [said.rfind(word) + len(word) for word in SETTLED if word in said]
        if ends and said.startswith(SETTLED_OPENERS):
            start = sentence.end() - len(said)
            spans.append((start, start + max(ends)))
    return spans


def head(key: str) -> str:
    """What a compacted phrase starts with: its first Chinese character, or first word."""
    found = _HAN_CHARACTER.match(key) or _LATIN_WORD.match(key)
    return found.group() if found else key[:1]


def choose(readings: list[Reading], exclusive: list[set[str]]) -> list[Reading]:
    """One reading per symptom (the best; the first of equals), then one present
    symptom per exclusive group."""
    best: dict[str, Reading] = {}
    for r in readings:
        symptom = r.match.phrase.symptom
        if symptom not in best or r.rank > best[symptom].rank:
            best[symptom] = r
    dropped: set[str] = set()
    for group in exclusive:
        present = [best[s] for s in sorted(group) if s in best and best[s].polarity == "present"]
        if len(present) > 1:
            winner = max(present, key=lambda r: r.rank)
            dropped |= {r.match.phrase.symptom for r in present if r is not winner}
    return [r for symptom, r in best.items() if symptom not in dropped]


def position(found: list[Clause], reading: Reading) -> int:
    return found[reading.match.clause].tokens[reading.first].start


def fact(normalised: str, found: list[Clause], reading: Reading) -> Fact:
    tokens = found[reading.match.clause].tokens
    excerpt = normalised[tokens[reading.first].start : tokens[reading.last].end]
    return Fact(reading.match.phrase.symptom, reading.polarity, reading.match.phrase.text, excerpt)
