//! Engine behaviour through the library API: cross-script retrieval, what may be cited,
//! refusals, follow-ups and odd input.

use summit_qa::answer::Reply;
use summit_qa::corpus::{BlockKind, Script};
use summit_qa::render;

use crate::util::{engine, fold};

const SIMPLIFIED_ARTICLE: &str = "000_128d67810036f820";
const TRADITIONAL_ARTICLE: &str = "004_8c99b04382caaf45";

#[test]
fn simplified_question_finds_the_traditional_article() {
    let a = engine().ask("美日韩首脑峰会在哪里举行？", None).unwrap();
    assert!(a.answered());
    assert_eq!(a.citations[0].article, TRADITIONAL_ARTICLE);
    assert!(
        a.text().contains("大衛營"),
        "quotes stay in the original script: {}",
        a.text()
    );
}

#[test]
fn traditional_question_finds_the_simplified_article() {
    let a = engine().ask("橫須賀基地外有多少人抗議？", None).unwrap();
    assert!(a.answered());
    assert_eq!(a.citations[0].article, SIMPLIFIED_ARTICLE);
    assert!(a.text().contains("300"), "{}", a.text());
    assert_eq!(a.script, Script::Hant);
}

#[test]
fn flagship_question_cites_both_articles_with_metadata() {
    let a = engine().ask("日本承诺对美国投资多少？", None).unwrap();
    assert!(a.text().contains("5500亿美元"), "{}", a.text());
    let first = &a.citations[0];
    assert_eq!(first.author.as_deref(), Some("华浩男"));
    assert_eq!(first.publisher.as_deref(), Some("复旦中美友好互信合作计划"));
    assert_eq!(first.published.as_deref(), Some("2025-11-03"));
    let other = a
        .citations
        .iter()
        .find(|c| c.article == TRADITIONAL_ARTICLE)
        .expect("Traditional article cited");
    assert_eq!(other.author, None, "unknown author must stay unknown");
    assert!(fold(&other.text).contains("5500亿美元"));
}

#[test]
fn rare_earth_question_cites_both_scripts() {
    let a = engine().ask("美日稀土協議的內容是什麼？", None).unwrap();
    let articles: Vec<&str> = a.citations.iter().map(|c| c.article.as_str()).collect();
    assert!(
        articles.contains(&SIMPLIFIED_ARTICLE) && articles.contains(&TRADITIONAL_ARTICLE),
        "{articles:?}"
    );
}

#[test]
fn captions_credits_and_headings_are_never_cited() {
    let not_body: Vec<String> = summit_qa::corpus::load(&crate::util::corpus_dir())
        .unwrap()
        .iter()
        .flat_map(|a| a.blocks.clone())
        .filter(|b| b.kind != BlockKind::Body)
        .map(|b| b.text.clone())
        .collect();
    assert!(
        not_body.iter().any(|t| t.contains("NBC News")),
        "fixture has credits"
    );
    let questions = [
        "特朗普与高市早苗在赤坂检阅仪仗队",
        "NBC News",
        "Reuters 路透社的照片",
        "读卖新闻的相关报道",
        "來源:The Japan News",
        "高市與特朗普在飛機上的合影",
        "美日同盟正在「一體化」",
    ];
    for q in questions {
        let a = engine().ask(q, None).unwrap();
        for c in &a.citations {
            assert!(
                !not_body.contains(&c.text),
                "{q:?} cited a non-body line: {}",
                c.text
            );
        }
        for quote in &a.quotes {
            assert!(
                !not_body.iter().any(|t| t == &quote.text),
                "{q:?} quoted {}",
                quote.text
            );
        }
    }
}

#[test]
fn every_quote_is_a_verbatim_sentence_of_its_citation() {
    for q in [
        "日本将购买多少架波音飞机？",
        "What gift did Takaichi give Trump?",
        "QUAD是什么时候复活的？",
    ] {
        let a = engine().ask(q, None).unwrap();
        assert!(a.answered(), "{q}");
        for quote in &a.quotes {
            let c = &a.citations[quote.citation - 1];
            assert!(
                c.text.contains(&quote.text),
                "{q}: quote not in its passage"
            );
        }
        assert!(a.text().contains("[1]"));
    }
}

#[test]
fn off_corpus_questions_are_refused_in_the_askers_script() {
    for (q, script, phrase) in [
        ("今天上海的天气怎么样？", Script::Hans, "没有涉及"),
        ("台北有什麼好吃的小吃？", Script::Hant, "沒有涉及"),
        (
            "What is the population of Brazil?",
            Script::Latin,
            "do not cover",
        ),
        (
            "How do I bake sourdough bread?",
            Script::Latin,
            "do not cover",
        ),
        (
            "Quantum chromodynamics lattice gauge",
            Script::Latin,
            "do not cover",
        ),
    ] {
        let a = engine().ask(q, None).unwrap();
        assert!(!a.answered(), "{q} was answered: {}", a.text());
        assert!(a.citations.is_empty() && a.quotes.is_empty());
        assert_eq!(a.script, script);
        assert!(render::answer_text(&a).contains(phrase));
    }
    // Known weakness: weather in a city the articles name (Tokyo) looks close enough to them
    // for the closest passages; it is never claimed.
    let tokyo = engine().ask("今天东京的天气怎么样？", None).unwrap();
    assert!(!tokyo.answered(), "{}", tokyo.text());
}

#[test]
fn mixed_english_and_chinese_question() {
    let a = engine().ask("Takaichi 送了什么礼物", None).unwrap();
    assert!(a.answered());
    assert!(a.text().contains("高尔夫球杆"), "{}", a.text());
}

#[test]
fn follow_up_uses_the_previous_question_as_context() {
    let a = engine()
        .ask("那防卫装备呢？", Some("日本承诺对美国投资多少？"))
        .unwrap();
    assert!(a.answered());
    assert!(a.text().contains("防卫装备"), "{}", a.text());
}

#[test]
fn empty_question_is_an_error_not_a_panic() {
    for q in ["", "   ", "\0\n\t"] {
        let e = engine().ask(q, None).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
    }
}

#[test]
fn odd_input_never_panics() {
    let long = "日本承诺对美国投资多少？".repeat(1000);
    let inputs = [
        long.as_str(),
        "🙂🙂🙂",
        "日本\0投资\u{202e}多少",
        "<b>日本</b> &amp; <script>alert(1)</script>",
        "ＱＵＡＤ是什么时候复活的？",
        "\u{feff}\u{200b}",
        "?？!！。",
    ];
    for q in inputs {
        let _ = engine().ask(q, None);
    }
    let a = engine().ask(&long, None).unwrap();
    assert!(a.truncated);
    assert!(a.question.chars().count() <= 500);
}

#[test]
fn english_question_gets_english_labels_and_chinese_evidence() {
    let a = engine()
        .ask(
            "How many protesters gathered outside the Yokosuka base?",
            None,
        )
        .unwrap();
    assert!(a.answered());
    assert_eq!(a.script, Script::Latin);
    assert!(a.text().contains("300名抗议人群"), "{}", a.text());
    let shown = render::console(&a);
    assert!(
        shown.contains("Sources:")
            && shown.contains("华浩男 · 复旦中美友好互信合作计划 · 2025-11-03"),
        "{shown}"
    );
}

#[test]
fn english_phrases_translate_before_words() {
    let a = engine()
        .ask("Which aircraft carrier did Trump speak on?", None)
        .unwrap();
    assert!(a.answered());
    assert!(a.text().contains("乔治·华盛顿号"), "{}", a.text());
    let a = engine()
        .ask("Why was there no joint press conference?", None)
        .unwrap();
    assert!(a.answered());
    assert!(a.text().contains("记者招待会"), "{}", a.text());
}

#[test]
fn english_without_any_dictionary_hit_is_refused() {
    for q in ["Zorblax frumious wug?", "Frobnicate the quux"] {
        let a = engine().ask(q, None).unwrap();
        assert!(!a.answered(), "{q}: {}", a.text());
        assert_eq!(a.script, Script::Latin);
    }
}

#[test]
fn further_passages_are_strong_and_not_already_cited() {
    let engine = engine();
    let answer = engine.ask("美日稀土协议的内容是什么？", None).unwrap();
    assert!(
        !answer.more.is_empty(),
        "there is more than one passage on this"
    );
    for at in &answer.more {
        let c = engine.passage(*at, 9).expect("a body paragraph");
        assert_eq!(c.n, 9);
        assert!(
            !answer
                .citations
                .iter()
                .any(|cited| cited.article == c.article && cited.paragraph == c.paragraph),
            "¶{} is already a source",
            c.paragraph
        );
    }
    let cited = engine.locate(&answer.citations[0]).unwrap();
    assert_eq!(
        engine.passage(cited, 1).unwrap().text,
        answer.citations[0].text
    );
    assert!(engine.around(cited).contains(&(
        answer.citations[0].paragraph,
        answer.citations[0].text.clone()
    )));
    let refused = engine.ask("明天东京天气怎么样？", None).unwrap();
    assert!(refused.more.is_empty(), "a refusal offers nothing more");
}

#[test]
fn colloquial_topic_question_quotes_the_rare_earth_passages() {
    let a = engine().ask("稀土那块说了什么", None).unwrap();
    assert!(a.answered(), "refused: confidence {}", a.confidence);
    assert!(fold(&a.text()).contains("稀土"), "{}", a.text());
    assert!(
        a.citations.iter().all(|c| !c.text.is_empty()),
        "every quote is cited"
    );
}

#[test]
fn who_is_questions_get_the_sentence_that_introduces_the_person() {
    let a = engine().ask("高市早苗是谁？", None).unwrap();
    assert!(a.answered());
    assert!(fold(&a.text()).contains("首相"), "{}", a.text());
    let b = engine().ask("Who is Bessent?", None).unwrap();
    assert!(b.answered());
    assert!(b.text().contains("财长"), "{}", b.text());
    let c = engine().ask("華爾茲係邊個？", None).unwrap();
    assert!(fold(&c.text()).contains("国家安全事务助理"), "{}", c.text());
}

#[test]
fn everyday_off_topic_questions_are_refused() {
    assert_refused(&[
        "今天北京天气怎么样？",
        "梅西现在效力于哪个俱乐部？",
        "did melania come on the trip?",
    ]);
}

/// Asserts that no question is answered with a claim: refused (citing nothing), or shown the
/// closest passages (or "not stated") as context.
fn assert_refused(questions: &[&str]) {
    for q in questions {
        let a = engine().ask(q, None).unwrap();
        assert!(!a.answered(), "{q} answered: {}", a.text());
        assert!(a.reply != Reply::Refused || a.citations.is_empty());
    }
}

/// A detail the articles never give about what they speak of is refused: the rest of a name
/// (早苗 after 高市) is not evidence beyond the name, a common English word quoted beside the
/// Chinese (golden age) does not stand for 岁数, and a yes/no question whose verb the corpus
/// never writes (被逮捕吗) cannot be answered yes.
#[test]
fn a_detail_never_given_about_a_named_person_is_refused() {
    assert_refused(&[
        "高市早苗多大年纪了",
        "高市早苗的岁数",
        "横须贺抗议有人被逮捕吗",
    ]);
}

/// A verb is no synonym of a noun sharing its character (打球, 高尔夫球), nor one city of
/// another described alike (京都, 东京): questions about them are refused.
#[test]
fn kin_words_of_another_kind_are_not_evidence() {
    assert_refused(&["高市跟特朗普一块打球了吗", "特朗普有冇去京都"]);
}

/// A word the corpus lacks whose only piece it has is the corpus's own subject (日本 of
/// 日本央行) is evidence of another topic.
#[test]
fn a_word_known_only_by_the_subject_inside_it_is_absent() {
    assert_refused(&["日本央行最近加息了没"]);
}

/// How long someone stayed is a length of time; a date (27日) gives none.
#[test]
fn a_length_of_time_is_not_answered_with_a_date() {
    assert_refused(&["how long was trump in japan", "特朗普喺日本留咗幾多日"]);
}

/// A word jieba cuts into characters (兵推) and a shortened name (读卖 for 读卖新闻) find the
/// sentence that writes them.
#[test]
fn split_words_and_shortened_names_are_found() {
    for (q, expected) in [
        ("美日韓喺邊度搞兵推", "首爾"),
        ("读卖那边是咋说安倍的", "隐藏主角"),
    ] {
        let a = engine().ask(q, None).unwrap();
        assert!(a.answered(), "{q}: {}", a.text());
        assert!(a.text().contains(expected), "{q}: {}", a.text());
    }
}

/// A noun made with a suffix (帽子) finds the corpus's kinds of it (棒球帽).
#[test]
fn suffixed_nouns_find_their_kinds() {
    let a = engine()
        .ask("送给特朗普的那顶帽子上印了什么", None)
        .unwrap();
    assert!(a.answered(), "{}", a.text());
    assert!(a.text().contains("JAPAN IS BACK"), "{}", a.text());
}

#[test]
fn a_topic_question_quotes_both_articles_when_both_speak_of_it() {
    let a = engine().ask("说说稀土", None).unwrap();
    assert!(a.answered());
    let quoted: Vec<&str> = a
        .quotes
        .iter()
        .map(|q| a.citations[q.citation - 1].article.as_str())
        .collect();
    assert!(
        quoted.contains(&SIMPLIFIED_ARTICLE) && quoted.contains(&TRADITIONAL_ARTICLE),
        "{quoted:?}"
    );
}

/// Two engines loaded from the same corpus give the same answers, whatever order their
/// glossary's names come in (a process answering differently from its replica, or from its
/// own restart, was seen when segmentation depended on that order).
#[test]
fn engines_loaded_twice_answer_alike() {
    let other = summit_qa::Engine::from_dir(
        &crate::util::corpus_dir(),
        summit_qa::config::AnswerConfig::default(),
    )
    .unwrap();
    for q in crate::util::questions("dev_colloquial.jsonl") {
        let (a, b) = (
            engine().ask(&q.q, None).unwrap(),
            other.ask(&q.q, None).unwrap(),
        );
        assert_eq!(a.text(), b.text(), "{}: {}", q.id, q.q);
    }
}

/// A "who" question is answered first by the sentence naming someone it does not name itself,
/// in every language, also when an English question goes on with a "when" clause.
#[test]
fn who_questions_lead_with_the_person_named() {
    for q in [
        "特朗普喺東京第一個見咗邊個？",
        "who did trump meet first when he got to tokyo",
    ] {
        let a = engine().ask(q, None).unwrap();
        assert!(a.answered(), "{q}: {}", a.text());
        assert!(a.quotes[0].text.contains("德仁"), "{q}: {}", a.text());
    }
}

#[test]
fn small_talk_gets_a_friendly_reply_in_the_askers_script() {
    for (message, script, opener) in [
        ("hello", Script::Latin, "Hello!"),
        ("谢谢", Script::Hans, "不客气"),
        ("你係邊個？", Script::Hant, "我根據已收錄的文章"),
    ] {
        let a = engine().ask(message, None).unwrap();
        assert!(matches!(a.reply, Reply::SmallTalk(_)), "{message}: {a:?}");
        assert!(a.citations.is_empty() && a.quotes.is_empty(), "{message}");
        assert_eq!(a.script, script, "{message}");
        let text = render::answer_text(&a);
        assert!(text.starts_with(opener), "{message}: {text}");
        assert!(text.contains(&a.topics[0]), "says what it knows: {text}");
    }
}

#[test]
fn a_greeting_with_a_question_is_a_question() {
    let a = engine()
        .ask("hi! how much did Japan promise to invest?", None)
        .unwrap();
    assert!(matches!(a.reply, Reply::Answer | Reply::Closest), "{a:?}");
    assert!(a.text().contains("5500"), "{}", a.text());
}

#[test]
fn general_knowledge_is_refused_even_with_a_word_of_the_articles() {
    let a = engine()
        .ask("What is the capital of France?", None)
        .unwrap();
    assert_eq!(a.reply, Reply::Refused, "{}", a.text());
    assert!(a.citations.is_empty());
}

#[test]
fn a_detail_the_articles_never_give_is_not_claimed_and_what_they_say_is_shown() {
    let a = engine()
        .ask("那100架波音飞机一共要花多少钱？", None)
        .unwrap();
    assert_eq!(a.reply, Reply::Closest, "{}", a.text());
    assert!(a.text().contains("100架波音飞机"), "context: {}", a.text());
    assert!(!a.citations.is_empty());
    let text = render::answer_text(&a);
    assert!(text.starts_with("文章没有直接回答这个问题"), "{text}");
    let still = engine().ask("日本将购买多少架波音飞机？", None).unwrap();
    assert!(still.answered() && still.text().contains("100架"));
}

#[test]
fn greetings_and_thanks_around_a_question_do_not_change_its_answer() {
    let plain = engine().ask("日本承诺对美国投资多少？", None).unwrap();
    let a = engine()
        .ask("你好，日本承诺对美国投资多少？谢谢！", None)
        .unwrap();
    assert_eq!(a.reply, plain.reply, "{a:?}");
    assert_eq!(a.text(), plain.text());
    assert!(a.text().contains("5500"), "{}", a.text());
}
