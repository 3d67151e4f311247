"""Understanding a merchant's own words (wizard.understanding): the seed phrases, word
cutting, typos, negation, "works fine" statements, exclusive groups, odd input, and a
precision/recall check on a small development set of sentences written for it."""

from __future__ import annotations

import json
from pathlib import Path

import jieba
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wizard import understanding
from wizard.checks import PHRASES_PER_LANGUAGE
from wizard.understanding import Fact, Phrasebook

SEED = Path(__file__).resolve().parent.parent / "wizard" / "seed"
LANGUAGES = ("zh-hans", "en")


def seed_phrases() -> dict[str, dict[str, list[str]]]:
    knowledge = json.loads((SEED / "knowledge.json").read_text(encoding="utf-8"))
    return {symptom["slug"]: symptom.get("phrases", {}) for symptom in knowledge["symptoms"]}


@pytest.fixture(scope="module")
def book() -> Phrasebook:
    return Phrasebook.from_phrases(seed_phrases())


def read(book: Phrasebook, text: str, **kwargs) -> dict[str, str]:
    """What ``text`` says, as {symptom: polarity}."""
    return {fact.symptom: fact.polarity for fact in book.understand(text, **kwargs)}


# --- The seed phrases


def test_every_symptom_of_the_seed_knowledge_has_phrases_in_both_languages():
    for symptom, languages in seed_phrases().items():
        assert set(languages) == set(LANGUAGES), symptom
        for language, phrases in languages.items():
            assert 4 <= len(phrases) <= PHRASES_PER_LANGUAGE, (symptom, language)
            assert len(set(phrases)) == len(phrases), (symptom, language)
            assert all(phrase.strip() == phrase and phrase for phrase in phrases), (symptom, language)


def test_every_seed_phrase_is_understood_as_its_own_symptom(book):
    for symptom, languages in seed_phrases().items():
        for phrase in (p for phrases in languages.values() for p in phrases if understanding.PAIR not in p):
            assert read(book, phrase).get(symptom) == "present", (symptom, phrase)


def test_every_way_of_saying_a_side_of_a_seed_pair_is_read_with_the_other_side(book):
    """A thing followed by a state ("卡槽" "脏" → "卡槽脏") must say the symptom for some way
    of saying the other side: an alternative the word cutting always hides is dead."""
    for symptom, languages in seed_phrases().items():
        for phrase in (p for phrases in languages.values() for p in phrases if understanding.PAIR in p):
            things, states = (side.split("/") for side in phrase.split(understanding.PAIR))
            glue = " " if phrase.isascii() else ""
            read_with = {
                (thing, state)
                for thing in things
                for state in states
                if read(book, f"{thing}{glue}{state}").get(symptom) == "present"
            }
            assert {t for t in things if not any(t == a for a, _ in read_with)} == set(), (symptom, phrase)
            assert {s for s in states if not any(s == b for _, b in read_with)} == set(), (symptom, phrase)


def test_a_fact_names_the_phrase_it_matched_and_the_words_of_the_text(book):
    [fact] = book.understand("我的POS机刷卡的时候一直提示通讯失败!")
    assert fact == Fact("pay-comm-failed", "present", "通讯失败", "通讯失败")
    assert book.understand("没有装别的软件") == [
        Fact("installed-third-party-app", "absent", "装了别的软件", "没有装别的软件")
    ]


# --- Cutting Chinese into words


def test_the_phrases_are_words_of_the_phrasebooks_own_dictionary(book):
    for text, phrase in (("屏幕上提示请输入授权码", "请输入授权码"), ("这个月流量卡欠费了", "流量卡欠费")):
        assert phrase in book.tokenizer.lcut(text, HMM=False)
        assert phrase not in jieba.lcut(text, HMM=False)


def test_a_phrase_inside_an_ordinary_word_is_no_match(book):
    # "进水果" is buying fruit, "没电话费" is out of phone credit.
    assert read(book, "今天进水果的时候手机没电话费了") == {}
    assert read(book, "机器进水了") == {"liquid-inside": "present", "dropped-or-wet": "present"}


def test_small_words_between_the_words_of_a_phrase_do_not_stop_it(book):
    assert read(book, "读卡总是失败")["pay-card-read-fail"] == "present"
    assert read(book, "机器进过水")["liquid-inside"] == "present"
    assert read(book, "进了水")["liquid-inside"] == "present"


def test_a_word_or_two_may_stand_between_the_characters_of_a_chinese_phrase(book):
    assert read(book, "无法正常读卡") == {"pay-card-read-fail": "present"}
    assert read(book, "电池鼓了个包") == {"battery-swollen": "present"}
    assert read(book, "换了新的路由器")["network-changed"] == "present"
    # ...but never a negation, and never part of a word of the text.
    assert read(book, "升级没失败").get("upgrade-stuck-failed") != "present"
    assert read(book, "一笔钱都收不了") == {"fails-every-time": "present"}


def test_the_premise_alone_is_no_answer(book):
    # Every merchant here says the terminal stopped working after the upgrade: that is
    # why they came, not how often it fails. "Every time" needs its own words.
    assert read(book, "pos机升级后用不了了") == {}
    assert read(book, "card machine stopped working after the upgrade") == {}
    assert read(book, "升级后一直用不了,每次都提示通讯失败")["fails-every-time"] == "present"


def test_a_change_announced_is_not_a_change_made(book):
    # "要" between the words of "计算方式改了": the notice says it will change.
    assert "fee-calc-changed" not in read(book, "通知说手续费计算方式要改")
    assert read(book, "手续费计算方式改了")["fee-calc-changed"] == "present"
    assert "upgrade-stuck-failed" not in read(book, "升级会失败吗")


def test_a_chinese_phrase_missing_its_last_character_is_no_typo(book):
    # "手续费计算" has lost the change itself ("变了"): it is no near "手续费计算变了"...
    assert "fee-calc-changed" not in read(book, "收到过通知,说手续费计算方式要改")
    book_ = Phrasebook.from_phrases({"changed": {"zh-hans": ["手续费计算变了"]}})
    assert read(book_, "手续费计算") == {}
    assert read(book_, "手续费计算方法") == {}
    # ...but a character missing inside it, or a wrong one, is a typo.
    assert read(book_, "手续费计算改了") == {"changed": "present"}
    assert read(book, "收到通知说费率调整")["fee-notice-rate"] == "present"  # "通知说费率要调整"


def test_a_phrase_said_as_it_is_wins_over_one_with_words_between_its_own():
    # "机器开机正常" is "开机正常" as it is, and "机器正常" only with "开机" between.
    book = Phrasebook.from_phrases({"fine": {"zh-hans": ["机器正常"]}, "boots": {"zh-hans": ["开机正常"]}})
    assert read(book, "机器开机正常") == {"boots": "present"}
    # ...unless what stands between is a "works fine" word: "不能正常刷卡" cannot swipe.
    book = Phrasebook.from_phrases({"fails": {"zh-hans": ["不能刷卡"]}, "works": {"zh-hans": ["正常刷卡"]}})
    assert read(book, "不能正常刷卡") == {"fails": "present"}


def test_always_with_a_single_word_stays_one_word():
    # "一直" is a filler ("刷卡一直失败" reads "刷卡失败"), but "一直重启" without it would
    # be "重启", which is also the merchant restarting the terminal.
    book = Phrasebook.from_phrases({"loop": {"zh-hans": ["一直重启", "总是重启"], "en": []}})
    assert read(book, "升级以后机器一直重启了") == {"loop": "present"}
    assert read(book, "它总是重启") == {"loop": "present"}
    assert read(book, "重启以后就好了") == {}


def test_two_phrasebooks_never_change_each_others_words_or_jiebas_own():
    first = Phrasebook.from_phrases({"a": {"zh-hans": ["嘀嘀嘟嘟"], "en": []}})
    second = Phrasebook.from_phrases({"b": {"zh-hans": ["嘟嘟嘀嘀"], "en": []}})
    assert "嘀嘀嘟嘟" in first.tokenizer.FREQ and "嘀嘀嘟嘟" not in second.tokenizer.FREQ
    assert "嘀嘀嘟嘟" not in jieba.dt.FREQ
    assert read(first, "它嘀嘀嘟嘟地响") == {"a": "present"}
    assert read(second, "它嘀嘀嘟嘟地响") == {}


# --- Typos and mixed languages


def test_a_typo_in_a_long_english_word_still_matches(book):
    assert read(book, "it asks for an authorizaton code") == {"pay-asks-auth-code": "present"}
    assert read(book, "comunication failed")["pay-comm-failed"] == "present"


def test_a_typo_in_the_last_character_of_a_chinese_phrase_still_matches(book):
    # RapidFuzz aligns "请输入授权码" as well with "示请输入授权" as with "请输入授权吗";
    # the first straddles a word, so the next place is tried.
    assert read(book, "屏幕显示请输入授权吗")["pay-asks-auth-code"] == "present"


def test_a_small_word_that_carries_the_phrase_is_kept(book):
    # "now and then" without "now" would be every "and then" of a story.
    assert read(book, "I swiped the card and then it crashed") == {"pay-app-crash": "present"}
    assert read(book, "it fails now and then")["fails-now-and-then"] == "present"


def test_a_different_short_or_known_word_is_no_typo(book):
    assert read(book, "blank screen") == {"boot-screen-blank": "present"}
    assert read(book, "black screen") == {"boot-no-power": "present"}
    assert "no-auth-code-at-hand" not in read(book, "it asks for an authorization code")
    # "screen line" is one letter from "screen fine": the screen is fine, nothing is broken.
    assert read(book, "the screen is fine") == {"screen-cracked-garbled": "absent"}


def test_chinese_and_english_mixed_in_one_sentence(book):
    assert read(book, "POS显示communication failed") == {"pay-comm-failed": "present"}
    assert read(book, "pos机显示terminal not activated,没有信号")["network-no-signal"] == "present"


def test_keeps_doing_in_chinese_before_an_english_verb_reads_as_keeps(book):
    # "一直 reboot" is "keeps rebooting"; "reboot" alone may be the merchant's doing.
    assert read(book, "升级后一直 reboot") == {"boot-loop": "present"}
    assert read(book, "老是reboot") == {"boot-loop": "present"}
    assert read(book, "reboot以后就好了") == {}


# --- Negation


@pytest.mark.parametrize(
    ("text", "symptom"),
    [
        ("没有装别的软件", "installed-third-party-app"),
        ("我没装过别的软件", "installed-third-party-app"),
        ("没有错误提示", "pay-other-message"),
        ("从来没有摔过", "dropped-or-wet"),
        ("没有人动过设置", "settings-changed"),
        ("不是没信号", "network-no-signal"),
        ("电池没有鼓包", "battery-swollen"),
        ("进水?没有", None),
        ("no error", "pay-other-message"),
        ("I haven't installed any new apps", "installed-third-party-app"),
        ("we did not change the settings", "settings-changed"),
        ("it was never dropped", "dropped-or-wet"),
    ],
)
def test_a_negator_before_a_phrase_makes_it_absent(book, text, symptom):
    facts = read(book, text)
    if symptom is None:
        assert "absent" not in facts.values() or all(p == "absent" for p in facts.values())
    else:
        assert facts[symptom] == "absent"
        assert "present" not in facts.values()


def test_a_negator_between_the_words_of_a_phrase_makes_it_absent(book):
    # "屏幕碎了" with "没" inside: the screen is not cracked.
    assert read(book, "屏幕没碎") == {"screen-cracked-garbled": "absent"}
    assert read(book, "费率没涨,就是多了一笔服务费") == {
        "higher-fee-rate": "absent",
        "new-extra-charge": "present",
    }
    assert read(book, "the screen isn't cracked") == {"screen-cracked-garbled": "absent"}
    assert read(book, "the rate hasn't increased") == {"higher-fee-rate": "absent"}
    assert read(book, "the fees didn't go up") == {"higher-fee-rate": "absent"}
    # ...never a phrase that holds a negation already, and never twice over.
    assert read(book, "屏幕碎了") == {"screen-cracked-garbled": "present"}
    assert "screen-cracked-garbled" not in read(book, "不是屏幕没碎")


def test_a_phrase_that_ends_in_its_negator_ends_the_clause(book):
    # "什么提示都没有" is "提示" + "没有": the negator says there is no message only at
    # the end of the clause; before more words it is about them.
    assert read(book, "什么提示都没有") == {"pay-screen-on-no-message": "present"}
    assert "pay-screen-on-no-message" not in read(book, "提示没信号")
    assert "pay-screen-on-no-message" not in read(book, "提示商户未入网")
    # A longer phrase says enough before its negator.
    assert read(book, "支持列表里没有我的型号") == {"model-not-in-supported-list": "present"}


def test_negators_of_one_meaning_read_alike(book):
    # "未" and "没有" say what "没" says: "终端未激活" is also written "终端没有激活".
    assert read(book, "终端没有激活") == {"pay-not-activated": "present"}
    assert read(book, "未收到通知") == read(book, "没有收到通知") == {"no-fee-notice": "present"}


def test_nothing_of_and_not_seen_negate_too(book):
    # "没什么错误提示": no error to speak of; "没发现进水": no liquid found.
    assert read(book, "没什么错误提示") == {"pay-other-message": "absent"}
    assert read(book, "没发现进水")["dropped-or-wet"] == "absent"
    assert read(book, "没看到有错误提示") == {"pay-other-message": "absent"}
    assert read(book, "网络没什么问题") == {"network-no-signal": "absent"}
    assert read(book, "信号还行") == {"network-no-signal": "absent"}
    assert read(book, "wifi no issues") == read(book, "wifi no problems") == {"network-no-signal": "absent"}


def test_a_negator_at_the_end_of_the_clause_makes_it_absent(book):
    assert read(book, "鼓包没有") == {"battery-swollen": "absent"}
    # ...but not when something follows it: the negator is about that.
    assert read(book, "电池鼓包没有冒烟") == {
        "battery-swollen": "present",
        "smoke-or-burning-smell": "absent",
    }


@pytest.mark.parametrize(
    ("text", "symptom"),
    [
        ("无法开机", "boot-no-power"),
        ("开不了机", "boot-no-power"),
        ("无法读卡", "pay-card-read-fail"),
        ("读不了卡", "pay-card-read-fail"),
        ("没信号", "network-no-signal"),
        ("升级失败", "upgrade-stuck-failed"),
        ("终端未激活", "pay-not-activated"),
        ("it won't turn on", "boot-no-power"),
        ("the terminal can't read the card", "pay-card-read-fail"),
        ("no signal", "network-no-signal"),
    ],
)
def test_a_failure_word_inside_a_phrase_is_part_of_the_symptom(book, text, symptom):
    assert read(book, text)[symptom] == "present"


def test_a_negation_covers_every_item_of_a_list(book):
    hazards = {"battery-swollen", "smoke-or-burning-smell", "liquid-inside"}
    for text in ("没有鼓包、冒烟或进水", "鼓包冒烟进水都没有", "no swollen battery or smoke or water inside"):
        facts = read(book, text)
        assert {s: facts[s] for s in hazards} == dict.fromkeys(hazards, "absent"), text
    # Side by side without a link, a negation stays with its own phrase.
    assert read(book, "没有错误提示读不了卡") == {
        "pay-other-message": "absent",
        "pay-card-read-fail": "present",
    }


def test_a_negation_covers_a_list_written_with_commas_and_items_not_in_the_phrasebook(book):
    # A list after "no" is often written with commas, and holds words that are no phrase.
    assert (
        read(book, "No swelling, heat, smoke, liquid or broken case").get("smoke-or-burning-smell")
        == "absent"
    )
    assert read(book, "没有鼓包,冒烟或者进水")["liquid-inside"] == "absent"
    assert read(book, "没有异味、冒烟或者进水")["smoke-or-burning-smell"] == "absent"
    # ...but a comma still ends a clause that is no list.
    assert read(book, "no error, the card can't be read") == {
        "pay-other-message": "absent",
        "pay-card-read-fail": "present",
    }
    assert read(book, "没有错误提示,读不了卡") == {
        "pay-other-message": "absent",
        "pay-card-read-fail": "present",
    }


def test_a_negation_does_not_reach_past_why_or_a_time(book):
    assert read(book, "不知道为什么读不了卡") == {"pay-card-read-fail": "present"}
    assert read(book, "没多久就闪退了") == {"pay-app-crash": "present"}
    assert read(book, "I have no idea why it won't turn on") == {"boot-no-power": "present"}


@pytest.mark.parametrize(
    "text, facts",
    [
        ("以前网络老断,去年换了路由器就好了。现在是插卡读不出来", {"pay-card-read-fail": "present"}),
        (
            "Last year the wifi kept dropping, a new router fixed it. Now the card can't be read.",
            {"pay-card-read-fail": "present"},
        ),
        # ...what follows the problem put right, in the same unpunctuated sentence, is now
        ("以前也被多扣过一次 后来退回来了 那个早就解决了 现在升级后费率涨了", {"higher-fee-rate": "present"}),
        ("上个月宽带断过几天,早修好了", {}),
    ],
)
def test_a_problem_told_as_put_right_long_ago_is_no_fact(book, text, facts):
    assert read(book, text) == facts


def test_one_event_after_another_is_not_one_phrase_with_a_gap(book):
    assert "upgrade-stuck-failed" not in read(book, "升级以后特别卡")  # slow after the upgrade
    assert read(book, "升级卡住了") == {"upgrade-stuck-failed": "present"}


def test_too_old_needs_its_too(book):
    """ "too" is a word of the phrase: without it, any "old" was a terminal told too old."""
    assert read(book, "my provider told me the old application process is closed") == {}
    assert read(book, "the bank said it's too old") == {"told-terminal-too-old": "present"}
    assert read(book, "my phone works fine") == {"other-devices-offline": "absent"}


def test_a_word_for_how_something_is_is_never_a_typo(book):
    """One character off is a typo, but not when it turns "is fine" into "broken"."""
    assert read(book, "店里wifi是好的")["other-devices-offline"] == "absent"
    assert read(book, "店里wifi坏了") == {"other-devices-offline": "present"}


def test_a_signal_dropping_is_no_dropped_terminal(book):
    assert read(book, "the signal keeps dropping in and out") == {"network-unstable": "present"}
    assert "dropped-or-wet" not in read(book, "thinking of dropping cards altogether")
    assert read(book, "I dropped it yesterday") == {"dropped-or-wet": "present"}


def test_someone_saying_is_no_typo_of_someone_doing(book):
    assert read(book, "业务员说升级要授权码") == {}
    assert read(book, "业务员帮我升级的") == {"upgrade-other": "present"}


def test_marketing_is_not_the_market(book):
    assert read(book, "the notice was just marketing") == {"fee-notice-other": "present"}
    assert read(book, "a guy at the market said all of this brand are broken now") == {}


def test_a_negation_does_not_cross_a_clause(book):
    assert read(book, "没有错误提示,但是读不了卡") == {
        "pay-other-message": "absent",
        "pay-card-read-fail": "present",
    }
    assert read(book, "no error, but the wifi is down") == {
        "pay-other-message": "absent",
        "network-no-signal": "present",
    }


def test_a_question_or_a_guess_is_no_fact(book):
    assert read(book, "有没有进水我不确定") == {}
    assert read(book, "I'm not sure if it got wet") == {}
    assert read(book, "网络正常吗?") == {}


def test_a_guess_before_a_phrase_is_no_fact_wherever_it_stands_in_the_clause(book):
    # "会不会是网络的问题": the merchant wonders; the wizard asks instead.
    assert read(book, "会不会是网络的问题?") == {}
    assert read(book, "可能是升级的时候断电了") == {}
    assert read(book, "估计是进水了") == {}
    assert read(book, "I guess the battery is swollen") == {}
    assert read(book, "听说升级以后费率会变高") == {}
    # ...and only what follows the guess: the card still cannot be read.
    assert read(book, "读不了卡可能是网络问题") == {"pay-card-read-fail": "present"}


def test_what_other_people_say_of_their_own_terminals_is_no_fact_about_this_one(book):
    facts = read(book, "群里好几个跟我一个型号的老板都说升完级刷不了了")
    assert facts == {"others-same-model": "present"}  # said before "说", of the merchant's
    assert read(book, "他们也说网卡得要命") == {}
    assert "brand-quality-problems" not in read(book, "好多人说质量不行")
    assert read(book, "people say it keeps restarting") == {}
    # ...but what the bank or the provider says of this terminal stays.
    assert read(book, "银行说要重新申请")["told-to-reapply"] == "present"
    assert read(book, "it keeps restarting") == {"boot-loop": "present"}


def test_a_yes_no_question_about_a_phrase_is_no_fact(book):
    assert read(book, "是网络问题吗?") == {}
    assert read(book, "进水了吗") == {}
    assert read(book, "Is the battery swollen?") == {}
    assert read(book, "Did the update fail?") == {}
    # A question about something else, a "why" question or a statement with a question
    # mark still states the symptom.
    assert read(book, "开不了机了还能修吗") == {"boot-no-power": "present"}
    assert read(book, "为什么一直重启?") == {"boot-loop": "present"}
    assert read(book, "can't read the card?") == {"pay-card-read-fail": "present"}


# --- "Works fine" statements


@pytest.mark.parametrize(
    ("text", "symptom"),
    [
        ("网络正常", "network-no-signal"),
        ("网络都很正常", "network-no-signal"),
        ("信号满格", "network-no-signal"),
        ("信号是满的", "network-no-signal"),
        ("网络是通的", "network-no-signal"),
        ("wifi works", "network-no-signal"),
        ("the wifi is working fine", "network-no-signal"),
        ("the screen is fine", "screen-cracked-garbled"),
        ("屏幕没问题", "screen-cracked-garbled"),
        ("电池正常", "battery-swollen"),
        ("升级没问题", "upgrade-stuck-failed"),
        ("读卡正常", "pay-card-read-fail"),
        # "Clean" says "not dirty", "right" says "not short", "can get online" says the
        # phones are not offline, and "in use" may stand before the "fine" word.
        ("卡槽很干净", "card-slot-dirty"),
        ("card slot's clean", "card-slot-dirty"),
        ("到账金额是对的", "settlement-less"),
        ("手机都能上网", "other-devices-offline"),
        ("店里的wifi手机用着好好的", "other-devices-offline"),
        ("my phone works fine on it", "other-devices-offline"),
        # A rise that did not happen: "not changed" after what went up.
        ("费率没变", "higher-fee-rate"),
        ("手续费没涨", "higher-fee-rate"),
        ("the rate itself hasn't changed", "higher-fee-rate"),
    ],
)
def test_a_works_fine_statement_makes_the_symptom_absent_never_present(book, text, symptom):
    facts = book.understand(text)
    assert read(book, text)[symptom] == "absent"
    faults = [f for f in facts if f.polarity == "present" and f.symptom != "pay-works-normally"]
    assert faults == []


def test_good_before_another_word_says_very_not_fine(book):
    assert read(book, "到账好慢") == {}
    assert read(book, "网络好差")["network-no-signal"] == "present"
    assert read(book, "网络好") == {"network-no-signal": "absent"}
    assert read(book, "到账金额好的,没少")["settlement-less"] == "absent"


def test_it_worked_before_says_nothing_about_now(book):
    # "以前刷卡都正常": it did, before; now the card cannot be read.
    assert read(book, "以前刷卡都正常,升级后就读不了卡了")["pay-card-read-fail"] == "present"
    assert "pay-works-normally" not in read(book, "以前刷卡都正常,升级后就读不了卡了")
    assert read(book, "升级前网络好好的") == {}
    assert read(book, "before the update payments went through") == {}
    # ...but what went wrong before is still said ("以前摔过").
    assert read(book, "以前摔过") == {"dropped-or-wet": "present"}


def test_a_phrase_with_a_typo_does_not_hide_one_said_as_it_is_inside_it():
    # "升级后就刷不了" is near "升级后就用不了", and holds "刷不了" as it is.
    book_ = Phrasebook.from_phrases(
        {"fails": {"zh-hans": ["升级后就用不了"]}, "card": {"zh-hans": ["刷不了"]}}
    )
    assert read(book_, "升级后就刷不了")["card"] == "present"


def test_the_normal_options_are_present_facts_of_their_own(book):
    assert read(book, "开机正常,能进主界面") == {"boot-normal": "present"}
    assert read(book, "升级成功了") == {"upgrade-succeeded": "present"}
    assert read(book, "刷卡正常") == {"pay-works-normally": "present"}
    assert read(book, "外观完好,以上都没有") == {"no-hazard-signs": "present"}


def test_the_example_statements_of_the_brief(book):
    assert read(book, "网络正常,没有装别的软件,没有错误提示") == {
        "network-no-signal": "absent",
        "installed-third-party-app": "absent",
        "pay-other-message": "absent",
    }
    assert read(book, "the screen is fine, no error, wifi works") == {
        "screen-cracked-garbled": "absent",
        "pay-other-message": "absent",
        "network-no-signal": "absent",
    }


# --- Facts: one per symptom, in order, exclusive groups


def test_one_fact_per_symptom_in_the_order_of_the_text(book):
    facts = book.understand("屏幕显示通讯失败,读不了卡,又没信号,刷卡一直失败")
    assert [f.symptom for f in facts] == ["pay-comm-failed", "pay-card-read-fail", "network-no-signal"]


def test_an_exclusive_group_keeps_its_best_present_symptom(book):
    text = "刷卡提示通讯失败,还提示错误"
    assert read(book, text) == {"pay-comm-failed": "present", "pay-other-message": "present"}
    payment_screen = {"pay-comm-failed", "pay-other-message", "pay-card-read-fail", "pay-works-normally"}
    assert read(book, text, exclusive=[payment_screen]) == {"pay-comm-failed": "present"}


def test_an_exclusive_group_keeps_absent_facts_and_leaves_other_symptoms_alone(book):
    text = "开机黑屏,没有错误提示,电池鼓包"
    groups = [{"boot-no-power", "boot-normal"}, {"pay-other-message", "pay-comm-failed"}]
    assert read(book, text, exclusive=groups) == {
        "boot-no-power": "present",
        "pay-other-message": "absent",
        "battery-swollen": "present",
    }


def test_fuzzy_candidates_are_those_every_score_would_find(book):
    """The scores are cut off below the lowest threshold, to let RapidFuzz stop early:
    the candidates are the ones scoring every phrase against every clause would find."""
    from rapidfuzz import process

    texts = [
        "升级后一直提示通讯失败,网络也不稳定",
        "the terminal says comunication faild and wont read cards",
    ]
    for text in texts:
        found = understanding.clauses(understanding.words(understanding.normalise(text), book.tokenizer))
        for candidates in book.scored:
            columns = [i for i, c in enumerate(found) if candidates.script.search(c.compact)]
            if not columns:
                continue
            scores = process.cdist(
                candidates.keys, [found[i].compact for i in columns], scorer=candidates.scorer
            )
            every = {
                (columns[col], candidates.indices[row])
                for row, col in zip(*(scores >= candidates.thresholds[:, None]).nonzero(), strict=True)
            }
            assert set(candidates.hits(found)) == every and every


# --- Pairs: a thing and what is wrong with it, anywhere in one clause

PAIRS = {
    "card-slot-dirty": {
        "zh-hans": ["插卡口很脏", "卡槽/插卡口 + 脏/灰/油/黑乎乎"],
        "en": ["card slot/slot + dirty/dust/greasy"],
    },
    "pay-card-read-fail": {"zh-hans": ["读不出卡"], "en": ["can't read the card"]},
    "higher-fee-rate": {"zh-hans": ["费率 + 高/涨"], "en": ["rate + up/higher"]},
    "pay-comm-failed": {"zh-hans": ["通讯失败"], "en": ["communication failed"]},
}


@pytest.fixture(scope="module")
def pairs() -> Phrasebook:
    return Phrasebook.from_phrases(PAIRS)


@pytest.mark.parametrize(
    "text",
    [
        "插卡口黑乎乎的全是油",
        "卡槽里卡了好多灰",  # a thing may start a longer word
        "灰把卡槽都堵了",  # either order
        "the card slot is full of greasy crumbs",
        "there's dust all over the slot",
        "费率比以前高了一截",
        "the rate went up again",
    ],
)
def test_a_thing_and_what_is_wrong_with_it_in_one_clause_say_the_symptom(pairs, text):
    assert "present" in read(pairs, text).values()


@pytest.mark.parametrize(
    "text",
    [
        "卡槽挺好的,手上全是油",  # another clause
        "卡槽是上个月刚换的新的配件而且我每天早上开门都会仔细擦一遍还是有灰",  # too far apart
        "插卡口旁边有个加油站",  # "油" inside a word
        "费率是不是涨了",  # a guess
    ],
)
def test_a_thing_and_a_state_apart_or_asked_about_say_nothing(pairs, text):
    assert "card-slot-dirty" not in read(pairs, text)
    assert "higher-fee-rate" not in read(pairs, text)


def test_a_negator_before_the_state_makes_a_pair_absent(pairs):
    assert read(pairs, "卡槽一点都不脏") == {"card-slot-dirty": "absent"}
    assert read(pairs, "没发现卡槽有灰") == {"card-slot-dirty": "absent"}
    assert read(pairs, "the slot isn't dirty") == {"card-slot-dirty": "absent"}
    assert read(pairs, "费率没涨,读不出卡") == {"higher-fee-rate": "absent", "pay-card-read-fail": "present"}


def test_a_pair_negated_twice_or_asked_either_way_says_nothing(pairs):
    assert read(pairs, "不是卡槽没灰") == {}
    assert read(pairs, "不知道卡槽脏不脏") == {}
    assert read(pairs, "卡槽很脏不脏") == {}


def test_a_phrase_written_out_outranks_a_pair_in_an_exclusive_group(pairs):
    text = "插卡口很脏,通讯失败"
    group = [{"card-slot-dirty", "pay-comm-failed"}]
    [fact] = pairs.understand(text, exclusive=group)
    assert fact.phrase == "插卡口很脏"  # the written phrase, not the pair, names the fact
    pair_only = pairs.understand("插卡口全是油,通讯失败", exclusive=group)
    assert [f.symptom for f in pair_only] == ["pay-comm-failed"]


def test_a_pair_fact_names_the_pair_and_the_words_that_said_it(pairs):
    [fact] = pairs.understand("刷卡的插卡口黑乎乎的")
    assert fact == Fact("card-slot-dirty", "present", "卡槽/插卡口 + 脏/灰/油/黑乎乎", "插卡口黑乎乎")


def test_a_pair_with_an_empty_side_is_left_out():
    book = Phrasebook.from_phrases({"card-slot-dirty": {"zh-hans": ["卡槽 + ", " + 脏", "卡槽 + 了"]}})
    assert book.pairs == [] and book.understand("卡槽脏") == []


def test_the_seed_pairs_read_what_no_single_phrase_says(book):
    assert read(book, "饭店后厨的机器,插卡口黑乎乎的全是油").get("card-slot-dirty") == "present"
    assert read(book, "客服电话打了二十多次一直占线").get("brand-cs-unreachable") == "present"
    assert read(book, "服务费又冒出来一项年费").get("new-extra-charge") == "present"
    # jieba cuts "支付卡" + "死": the thing and the state share a word, each holding a part.
    assert read(book, "一支付卡死").get("pay-app-crash") == "present"


# --- Odd input


@pytest.mark.parametrize("text", ["", "   ", "\x00\x00", "😀🙏💳", "!!!???", "……", "\n\n", "ℌ𝔢𝔩𝔩𝔬"])
def test_empty_or_garbage_text_is_no_fact(book, text):
    assert book.understand(text) == []


def test_nul_and_control_characters_are_spaces(book):
    assert read(book, "读不了\x00卡\x07") == {"pay-card-read-fail": "present"}


def test_fullwidth_letters_and_punctuation_are_read_like_plain_ones(book):
    assert read(book, "ＰＯＳ显示ｃｏｍｍｕｎｉｃａｔｉｏｎ　ｆａｉｌｅｄ") == {"pay-comm-failed": "present"}
    assert read(book, "网络正常，没有错误提示！") == {
        "network-no-signal": "absent",
        "pay-other-message": "absent",
    }


def test_traditional_characters_and_words_read_like_simplified_ones(book):
    assert read(book, "機器開不了機") == {"boot-no-power": "present"}
    assert read(book, "刷卡時一直顯示通訊失敗")["pay-comm-failed"] == "present"
    assert read(book, "螢幕碎了") == {"screen-cracked-garbled": "present"}
    assert read(book, "收款程式一直當機")["pay-app-crash"] == "present"
    assert read(book, "升級後開不了機") == {"boot-no-power": "present"}
    # A simplified character that is also the traditional form of another stays.
    assert understanding.normalise("有糊味") == "有糊味"


def test_a_near_sound_from_a_pinyin_keyboard_reads_as_the_word_meant(book):
    assert read(book, "一直重起") == {"boot-loop": "present"}
    assert read(book, "升极以后读不了咔") == {"pay-card-read-fail": "present"}
    assert read(book, "收款软件老是闪腿") == {"pay-app-crash": "present"}
    assert read(book, "授权吗在哪里找") == {"no-auth-code-at-hand": "present"}
    # "吗" is a typo only where a question cannot be: "要授权吗?" asks.
    assert read(book, "要授权吗?") == {}
    assert understanding.normalise("咔嚓一声") == "咔嚓一声"
    assert read(book, "屏幕显示终端未机活") == {"pay-not-activated": "present"}
    assert understanding.normalise("刷卡鸡生机后") == "刷卡机升级后"
    # "生机" is "升级" only where an upgrade is done: "生机勃勃" stays.
    assert understanding.normalise("生机勃勃") == "生机勃勃"
    assert read(book, "升纪后开不了鸡") == {"boot-no-power": "present"}
    assert understanding.normalise("炸鸡") == "炸鸡"


def test_a_word_of_the_trade_in_pinyin_reads_as_its_characters(book):
    assert read(book, "pos机shengji shibai") == {"upgrade-stuck-failed": "present"}
    assert read(book, "kaiji heiping") == {"boot-no-power": "present"}
    assert read(book, "tongxun shibai") == {"pay-comm-failed": "present"}
    # English words stay English.
    assert read(book, "the card reader failed") == read(book, "the card reader failed.")


def test_a_number_of_years_reads_alike_in_digits_and_in_chinese(book):
    assert read(book, "用了7年了") == read(book, "用了七年了") == {"device-over-5-years": "present"}
    assert understanding.normalise("用了12年") == "用了十二年"
    assert understanding.normalise("2019年买的") == "2019年买的"


def test_chat_spellings_and_irregular_verbs_read_like_the_words_they_stand_for(book):
    assert read(book, "it restarts over and over thru the day") == {"boot-loop": "present"}
    assert read(book, "idk why it won't turn on") == {"boot-no-power": "present"}
    assert read(book, "the app froze") == read(book, "the app freezes") == {"pay-app-crash": "present"}
    assert read(book, "the screen broke") == {"screen-cracked-garbled": "present"}
    assert read(book, "the battery is swelling") == {"battery-swollen": "present"}
    assert read(book, "its like 8 yrs old")["device-over-5-years"] == "present"
    assert read(book, "an error msg")["pay-other-message"] == "present"
    assert read(book, "every txn fails")["fails-every-time"] == "present"


def test_only_the_start_of_a_very_long_text_is_read(book):
    filler = "今天天气很好," * 1000
    assert read(book, "读不了卡," + filler + "屏幕显示通讯失败") == {"pay-card-read-fail": "present"}


def test_an_empty_phrasebook_understands_nothing():
    assert Phrasebook.from_phrases({}).understand("读不了卡") == []


def test_phrases_too_vague_to_be_evidence_are_left_out():
    book = Phrasebook.from_phrases({"vague": {"zh-hans": ["", " ", "!!", "卡", "了"], "en": ["a", "the"]}})
    assert book.phrases == []
    assert book.understand("这张卡刷不了了, the card") == []


@given(st.text(max_size=300))
def test_any_text_gives_well_formed_facts(book, text):
    facts = book.understand(text)
    normalised = understanding.normalise(text)
    assert len({f.symptom for f in facts}) == len(facts)
    for fact in facts:
        assert fact.polarity in ("present", "absent")
        assert fact.excerpt and fact.excerpt in normalised


# --- A development set: sentences written for this module (not a held-out test)

DEV = [
    (
        "pos机升级以后就读不了卡了,屏幕上显示通讯失败",
        {"pay-card-read-fail": "present", "pay-comm-failed": "present"},
    ),
    ("昨天升级完,今天开机一直卡在开机画面,反复重启", {"boot-loop": "present"}),
    ("升级到一半停电了,现在开不了机", {"upgrade-interrupted": "present", "boot-no-power": "present"}),
    ("刷卡的时候提示终端未登记", {"pay-not-activated": "present"}),
    (
        "屏幕上让我输入授权码,可是我手上没有授权码",
        {"pay-asks-auth-code": "present", "no-auth-code-at-hand": "present"},
    ),
    (
        "银行给办的机器,用了五六年了,升级后提示版本不支持",
        {"provider-bank": "present", "device-over-5-years": "present", "pay-not-supported": "present"},
    ),
    (
        "网络正常,也没有装别的软件,没有错误提示",
        {"network-no-signal": "absent", "installed-third-party-app": "absent", "pay-other-message": "absent"},
    ),
    ("电池鼓包了,摸着很烫", {"battery-swollen": "present"}),
    ("机器昨天掉地上了", {"dropped-or-wet": "present"}),
    (
        "没有鼓包、冒烟或者进水",
        {
            "battery-swollen": "absent",
            "smoke-or-burning-smell": "absent",
            "liquid-inside": "absent",
            "dropped-or-wet": "absent",
        },
    ),
    ("流量卡欠费了,一直没信号", {"network-no-signal": "present"}),
    ("手机也上不了网,路由器坏了", {"other-devices-offline": "present"}),
    ("换了新的路由器以后一直提示连接超时", {"network-changed": "present", "pay-comm-failed": "present"}),
    ("手续费从0.6涨到了0.8,也没收到通知", {"higher-fee-rate": "present", "no-fee-notice": "present"}),
    ("对账单上多了一笔服务费,到账少了", {"new-extra-charge": "present", "settlement-less": "present"}),
    ("用着用着就死机,要重启才行", {"crashes-during-use": "present"}),
    (
        "安卓智能pos,装了个记账的app以后收款程序就闪退",
        {"device-smart-pos": "present", "pay-app-crash": "present"},
    ),
    ("屏幕碎了,不过还能刷卡", {"screen-cracked-garbled": "present", "pay-works-normally": "present"}),
    ("开机黑屏,充电也没反应", {"boot-no-power": "present"}),
    (
        "客服电话一直打不通,附近也没有维修点",
        {"brand-cs-unreachable": "present", "no-local-service": "present"},
    ),
    ("业务员联系不上了,原来的app也用不了", {"old-application-channel-gone": "present"}),
    ("银行通知让我重新申请", {"provider-bank": "present", "told-to-reapply": "present"}),
    ("升级失败了,进度条一直不动", {"upgrade-stuck-failed": "present"}),
    ("升级成功了,但是刷卡没反应", {"upgrade-succeeded": "present", "pay-card-read-fail": "present"}),
    ("时好时坏,有时候能刷有时候不行", {"fails-now-and-then": "present"}),
    (
        "刷卡正常,就是手续费太高了不想用了",
        {"pay-works-normally": "present", "fees-over-budget": "present"},
    ),
    ("卡槽里好像有灰,读卡失败", {"card-slot-dirty": "present", "pay-card-read-fail": "present"}),
    ("机器反应很慢,老是转圈", {"slow-laggy": "present"}),
    ("没人动过设置,也没摔过", {"settings-changed": "absent", "dropped-or-wet": "absent"}),
    ("屏幕亮着,按什么都没反应", {"pay-screen-on-no-message": "present"}),
    ("不知道为什么无法读卡", {"pay-card-read-fail": "present"}),
    ("没多久就死机了", {"pay-app-crash": "present"}),
    ("电池正常,没有鼓包,也没有烧焦味", {"battery-swollen": "absent", "smoke-or-burning-smell": "absent"}),
    ("屏幕显示乱码,还有条纹", {"screen-cracked-garbled": "present"}),
    ("外壳裂开了,能看到里面的电线", {"case-cracked-parts-exposed": "present"}),
    ("信号满格,wifi也正常", {"network-no-signal": "absent"}),
    (
        "是在支付公司业务员那里办的,手刷的那种",
        {"provider-payment-company": "present", "device-mpos": "present"},
    ),
    ("升级申请没通过,让补材料", {"upgrade-application-rejected": "present"}),
    (
        "同行也有这个问题,听说是已知问题",
        {"others-same-model": "present", "brand-known-issue-notice": "present"},
    ),
    ("pos机升级后用不了了", {"fails-every-time": "present"}),
    ("POS显示connection timeout,但是wifi正常", {"pay-comm-failed": "present", "network-no-signal": "absent"}),
    (
        "After the upgrade the terminal says communication error every time I try to take a payment",
        {"pay-comm-failed": "present", "fails-every-time": "present"},
    ),
    ("It asks for an authorizaton code and I don't have one", {"pay-asks-auth-code": "present"}),
    ("The screen says terminal not activated", {"pay-not-activated": "present"}),
    (
        "I haven't installed any new apps and the wifi works fine",
        {"installed-third-party-app": "absent", "network-no-signal": "absent"},
    ),
    ("The battery is swollen and it gets very hot", {"battery-swollen": "present"}),
    (
        "No smoke or burning smell, the screen is fine",
        {"smoke-or-burning-smell": "absent", "screen-cracked-garbled": "absent"},
    ),
    (
        "It can't read chip cards anymore and keeps saying insert card again",
        {"pay-card-read-fail": "present"},
    ),
    (
        "The update failed halfway and now it is stuck on the logo",
        {"upgrade-stuck-failed": "present", "boot-loop": "present"},
    ),
    (
        "My bank told me to reapply through a new channel",
        {"provider-bank": "present", "told-to-reapply": "present"},
    ),
    (
        "Fees went up and less money arrived in my account",
        {"higher-fee-rate": "present", "settlement-less": "present"},
    ),
    ("the terminal has been slow and laggy since the update", {"slow-laggy": "present"}),
    (
        "I dropped it yesterday and now it won't turn on",
        {"dropped-or-wet": "present", "boot-no-power": "present"},
    ),
    (
        "No error, nothing happens when I press the keys",
        {"pay-other-message": "absent", "pay-screen-on-no-message": "present"},
    ),
    ("I have no idea why the card can't be read", {"pay-card-read-fail": "present"}),
    ("It works sometimes, on and off", {"fails-now-and-then": "present"}),
    (
        "Customer service never replied and there is no repair shop nearby",
        {"brand-cs-unreachable": "present", "no-local-service": "present"},
    ),
    ("The screen is cracked and shows garbled text", {"screen-cracked-garbled": "present"}),
    (
        "We changed the wifi password last week, now there's no signal",
        {"network-changed": "present", "network-no-signal": "present"},
    ),
    (
        "payments go through fine, the problem is the fees",
        {"pay-works-normally": "present", "pattern-not-a-fault": "present"},
    ),
    (
        "It's an android smart pos from a payment company",
        {"device-smart-pos": "present", "provider-payment-company": "present"},
    ),
    ("你好,请问怎么办", {}),
    ("hello, please help", {}),
]


def test_precision_and_recall_on_the_development_sentences(book):
    found = correct = expected = 0
    for text, facts in DEV:
        understood = read(book, text)
        found += len(understood)
        expected += len(facts)
        correct += sum(facts.get(symptom) == polarity for symptom, polarity in understood.items())
    precision, recall = correct / found, correct / expected
    # Written alongside the phrases, so both are optimistic; the real measure is a
    # corpus the phrases were not written for.
    assert precision >= 0.95, precision
    assert recall >= 0.9, recall


def test_what_someone_or_people_online_say_is_no_fact_about_this_terminal(book):
    assert read(book, "有人说这种机器升级后会冒烟") == {}
    assert "brand-quality-problems" not in read(book, "网上都说质量差")
    # ...but the merchant's own terminal still counts.
    assert read(book, "机器冒烟了") == {"smoke-or-burning-smell": "present"}


def test_advice_to_try_something_is_not_something_done(book):
    assert "network-changed" not in read(book, "客服让我换根网线试试")
    assert "network-changed" not in read(book, "换个路由器试试看")
    assert read(book, "换了路由器") == {"network-changed": "present"}


def test_common_ime_and_dialect_words_read_as_the_phrases_write_them(book):
    assert read(book, "一直提示痛讯失败")["pay-comm-failed"] == "present"
    assert read(book, "不晓得怎么操作") == read(book, "不知道怎么操作")


def test_pinyin_written_a_syllable_at_a_time_reads_as_the_characters(book):
    assert read(book, "sheng ji hou ping mu xian shi zhong duan wei ji huo") == {
        "pay-not-activated": "present"
    }
    assert read(book, "zhongduan weijihuo") == {"pay-not-activated": "present"}
    assert read(book, "I can't ping my router") == {}


def test_what_works_fine_on_another_device_says_nothing_of_the_terminal(book):
    assert "network-no-signal" not in read(book, "Wifi is fine on my phone.")
    assert "network-no-signal" not in read(book, "手机上网络正常")
    assert read(book, "网络正常") == {"network-no-signal": "absent"}
    assert read(book, "wifi is fine") == {"network-no-signal": "absent"}
