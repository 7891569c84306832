//! The bot against the fake Bot API (see `fake_api`): routing, replies, flood control,
//! follow-ups, buttons, inline mode, rate limits, webhook mode and shutdown. No network.

use std::time::Duration;

use serde_json::{json, Value};
use summit_qa::config::AnswerConfig;
use summit_qa::Engine;

use crate::fake_api::*;
use crate::util::{run, stderr, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_and_group_messages_are_answered_only_when_addressed() {
    let (fake, url) = spawn_fake().await;
    let private = json!({"id": 7, "type": "private", "first_name": "Asker"});
    let group = json!({"id": -1001, "type": "supergroup", "title": "Summit", "is_forum": true});
    let mut threaded = message(
        4,
        40,
        group.clone(),
        "/ask@summit_qa_bot 5500億美元的投資計劃分成幾個領域？",
    );
    threaded["message"]["message_thread_id"] = json!(9);
    threaded["message"]["is_topic_message"] = json!(true);
    *fake.updates.lock().unwrap() = vec![
        message(1, 10, private, "日本承诺对美国投资多少？"),
        message(2, 20, group.clone(), "今天大家讨论一下峰会"),
        message(3, 30, group, "/ask@other_bot 日本承诺对美国投资多少？"),
        threaded,
    ];
    let running = RunningBot::start(&url);

    wait_for(&fake, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.stop().await;

    assert!(fake.called("setmycommands"));
    let sent = fake.sent();
    assert_eq!(
        sent.len(),
        2,
        "exactly the private question and /ask@summit_qa_bot: {sent:#?}"
    );
    let private_reply = sent
        .iter()
        .find(|m| m["chat_id"] == 7)
        .expect("private reply");
    assert!(private_reply["text"]
        .as_str()
        .unwrap()
        .contains("5500亿美元"));
    assert!(private_reply["text"]
        .as_str()
        .unwrap()
        .contains("华浩男 · 复旦中美友好互信合作计划 · 2025-11-03 · ¶"));
    assert_eq!(private_reply["parse_mode"], "HTML");
    assert_telegram_html(private_reply["text"].as_str().unwrap());
    assert_eq!(private_reply["reply_parameters"]["message_id"], 10);
    assert_eq!(private_reply["link_preview_options"]["is_disabled"], true);
    let group_reply = sent
        .iter()
        .find(|m| m["chat_id"] == -1001)
        .expect("group reply");
    assert_eq!(group_reply["message_thread_id"], 9);
    assert_eq!(group_reply["reply_parameters"]["message_id"], 40);
    assert!(group_reply["text"].as_str().unwrap().contains("9個領域"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_control_429_is_retried_and_answered_exactly_once() {
    let (fake, url) = spawn_fake().await;
    *fake.too_many.lock().unwrap() = 1;
    let private = json!({"id": 8, "type": "private", "first_name": "Asker"});
    *fake.updates.lock().unwrap() = vec![message(1, 11, private, "QUAD是什么时候复活的？")];
    let running = RunningBot::start(&url);
    wait_for(&fake, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.stop().await;
    assert_eq!(fake.attempts("sendmessage"), 2, "one 429, then the retry");
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0]["text"].as_str().unwrap().contains("2017年11月"));
}

#[test]
fn serve_without_a_token_exits_2_without_echoing_it() {
    let o = run(&["serve"], &[("TELOXIDE_TOKEN", "")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("TELOXIDE_TOKEN"));
    let o = run(
        &["serve"],
        &[("TELOXIDE_TOKEN", "not-a-token-secret-value")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("not-a-token-secret-value"));
    assert!(stderr(&o).contains("no colon"), "{}", stderr(&o));
    let placeholder = "123456:replace-with-the-token-from-BotFather";
    for command in ["serve", "check"] {
        let o = run(&[command], &[("TELOXIDE_TOKEN", placeholder)]);
        assert_eq!(o.status.code(), Some(2), "{command}");
        assert!(
            stderr(&o).contains("placeholder from .env.example"),
            "{command}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn check_runs_what_serve_checks_and_names_the_redis_it_would_use() {
    let o = run(&["check"], &[("SUMMIT_QA_REDIS__URL", "http://x")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("redis.url"), "{}", stderr(&o));
    let o = run(
        &["check"],
        &[(
            "SUMMIT_QA_REDIS__URL",
            "redis://:hunter2@cache.internal:6380/2",
        )],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("shared state: Redis at cache.internal:6380/2"));
    assert!(!stdout(&o).contains("hunter2") && !stderr(&o).contains("hunter2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_are_asked_with_the_previous_question() {
    let (fake, url) = spawn_fake().await;
    let private = json!({"id": 9, "type": "private", "first_name": "Asker"});
    let group = json!({"id": -2002, "type": "group", "title": "Summit"});
    let running = RunningBot::start(&url);

    fake.updates
        .lock()
        .unwrap()
        .push(message(1, 1, private.clone(), "日本承诺对美国投资多少？"));
    wait_for(&fake, 1).await;
    fake.updates
        .lock()
        .unwrap()
        .push(message(2, 2, private, "那防卫装备呢？"));
    wait_for(&fake, 2).await;

    fake.updates.lock().unwrap().push(message(
        3,
        3,
        group.clone(),
        "/ask 日本承诺对美国投资多少？",
    ));
    wait_for(&fake, 3).await;
    let mut follow_up = message(4, 4, group, "那防卫装备呢？");
    // A reply thread in a plain group carries a thread id that is not a forum topic.
    follow_up["message"]["message_thread_id"] = json!(3);
    follow_up["message"]["reply_to_message"] = json!({"message_id": 1000, "date": 0,
        "chat": {"id": -2002, "type": "group", "title": "Summit"},
        "from": {"id": BOT_ID, "is_bot": true, "first_name": "Summit", "username": "summit_qa_bot"},
        "text": "…"});
    fake.updates.lock().unwrap().push(follow_up);
    wait_for(&fake, 4).await;

    running.stop().await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 4, "{sent:#?}");
    assert_eq!(
        sent[3]["reply_parameters"]["message_id"], 4,
        "the reply-to-bot follow-up is answered as a reply"
    );
    assert!(
        sent[3]["message_thread_id"].is_null(),
        "no topic outside forums"
    );
    for reply in [&sent[1], &sent[3]] {
        let text = reply["text"].as_str().unwrap();
        assert!(
            text.contains("2.5兆日元的美国防卫装备"),
            "follow-up lost its context: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_answering_still_sends_the_reply_and_exits_0() {
    let (fake, url) = spawn_fake().await;
    let private = json!({"id": 11, "type": "private", "first_name": "Asker"});
    *fake.updates.lock().unwrap() = vec![message(1, 5, private, "高市内阁的支持率是多少？")];
    let mut child = spawn_serve(&url, &[], false);
    // SIGTERM as soon as the update has been handed out, while the answer is being made.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while fake.updates.lock().unwrap().len() == 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let status = terminate(&mut child).await;
    assert_eq!(status.code(), Some(0), "clean exit on SIGTERM");
    let sent = fake.sent();
    assert_eq!(sent.len(), 1, "the answer in flight was still sent");
    assert_telegram_html(sent[0]["text"].as_str().unwrap());
    assert!(sent[0]["text"].as_str().unwrap().contains("50%~70%"));
}

fn callback(update_id: u64, message: Value, data: &str) -> Value {
    callback_from(update_id, message, data, 7)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_show_more_sources_full_passages_and_count_votes() {
    let (fake, url) = spawn_fake().await;
    fake.push(message(
        1,
        10,
        private_chat(7),
        "美日稀土协议的内容是什么？",
    ));
    let running = RunningBot::start(&url);
    wait_for(&fake, 1).await;
    let answer = fake.sent()[0].clone();
    for data in answer["reply_markup"]["inline_keyboard"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap())
    {
        let data = data["callback_data"].as_str().unwrap();
        assert!(data.len() <= 64, "callback data over 64 bytes: {data}");
    }
    let shown = bot_message(&answer);

    fake.push(callback(2, shown.clone(), &button(&answer, "完整段落")));
    wait_for(&fake, 2).await;
    fake.push(callback(3, shown.clone(), &button(&answer, "更多来源")));
    wait_for(&fake, 3).await;
    fake.push(callback(4, shown.clone(), &button(&answer, "👍")));
    fake.push(callback(5, shown, "hm:9:not-ours"));
    wait_until(|| fake.attempts("answercallbackquery") >= 4).await;
    running.stop().await;

    let sent = fake.sent();
    assert_eq!(sent.len(), 3, "{sent:#?}");
    for part in &sent {
        assert_telegram_html(part["text"].as_str().unwrap());
    }
    let full = sent[1]["text"].as_str().unwrap();
    let cited = answer["text"].as_str().unwrap();
    assert!(full.contains("<blockquote expandable>"), "{full}");
    let cited_paragraph = cited
        .split("[1] ")
        .nth(1)
        .and_then(|line| line.split("¶").nth(1))
        .and_then(|n| n.split(|c: char| !c.is_ascii_digit()).next())
        .expect("the answer cites a paragraph");
    assert!(
        full.contains(&format!("▶ ¶{cited_paragraph} ")),
        "the cited paragraph is marked: {full}"
    );
    assert!(
        full.len() > cited.len() / 2,
        "the passage with its neighbours: {full}"
    );
    assert_eq!(
        sent[1]["reply_parameters"]["message_id"],
        answer["message_id"]
    );
    let more = sent[2]["text"].as_str().unwrap();
    assert!(more.contains("来源") && more.contains("¶"), "{more}");
    let first_more = answer["text"].as_str().unwrap().matches("¶").count() + 1;
    assert!(
        more.contains(&format!("[{first_more}]")),
        "numbering continues: {more}"
    );

    let acks = fake.calls_to("answercallbackquery");
    assert!(acks.iter().any(|a| a["text"] == "谢谢反馈！"), "{acks:#?}");
    assert!(acks
        .iter()
        .any(|a| a["text"].as_str().unwrap_or("").contains("失效")));
    let edits = fake.calls_to("editmessagereplymarkup");
    assert_eq!(edits.len(), 1, "the vote row is removed after a vote");
    assert!(!edits[0]["reply_markup"].to_string().contains("👍"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_and_questions_show_in_metrics_and_readiness() {
    let (fake, url) = spawn_fake().await;
    let running = RunningBot::start(&url);
    running.wait_ready().await;
    assert_eq!(running.get("/healthz").await.0, 200);
    fake.push(message(
        1,
        10,
        private_chat(7),
        "日本将购买多少架波音飞机？",
    ));
    fake.push(message(2, 11, private_chat(7), "明天上海天气怎么样？"));
    wait_for(&fake, 2).await;
    let answer = fake.sent()[0].clone();
    fake.push(callback(3, bot_message(&answer), &button(&answer, "👎")));
    wait_until(|| fake.called("answercallbackquery")).await;
    let (status, metrics) = running.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("summit_qa_questions_total 2"), "{metrics}");
    assert!(metrics.contains("summit_qa_answers_total{outcome=\"answered\"} 1"));
    assert!(metrics.contains("summit_qa_answers_total{outcome=\"refused\"} 1"));
    assert!(metrics.contains("summit_qa_feedback_total{vote=\"down\"} 1"));
    assert!(metrics.contains("summit_qa_answer_seconds_bucket"));
    assert!(!metrics.contains("上海"), "no user content in metrics");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_queries_get_the_answer_and_its_sources() {
    let (fake, url) = spawn_fake().await;
    let from = json!({"id": 7, "is_bot": false, "first_name": "Asker", "language_code": "zh-hans"});
    fake.push(
        json!({"update_id": 1, "inline_query": {"id": "q1", "from": from,
        "query": "日本承诺对美国投资多少？", "offset": ""}}),
    );
    fake.push(
        json!({"update_id": 2, "inline_query": {"id": "q2", "from": from,
        "query": "  ", "offset": ""}}),
    );
    let running = RunningBot::start(&url);
    wait_until(|| fake.attempts("answerinlinequery") >= 2).await;
    running.stop().await;

    let calls = fake.calls_to("answerinlinequery");
    let answer = calls.iter().find(|c| c["inline_query_id"] == "q1").unwrap();
    assert_eq!(answer["cache_time"], 300);
    let results = answer["results"].as_array().unwrap();
    assert!(results.len() >= 2, "the answer, then one result per source");
    let first = &results[0]["input_message_content"];
    assert!(first["message_text"]
        .as_str()
        .unwrap()
        .contains("5500亿美元"));
    assert_eq!(first["parse_mode"], "HTML");
    for result in results {
        assert_telegram_html(
            result["input_message_content"]["message_text"]
                .as_str()
                .unwrap(),
        );
    }
    assert!(results[1]["title"].as_str().unwrap().contains("¶"));
    let ids: std::collections::HashSet<&str> =
        results.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), results.len(), "result ids are unique");

    let hint = calls.iter().find(|c| c["inline_query_id"] == "q2").unwrap();
    let hint = hint["results"].as_array().unwrap();
    assert_eq!(hint.len(), 1);
    assert!(
        hint[0]["title"].as_str().unwrap().contains("问题"),
        "{hint:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_4096_characters_is_sent_in_valid_parts() {
    let dir = tempfile::tempdir().unwrap();
    let body: Vec<String> = (1..=60)
        .map(|i| {
            format!(
                "第{i}段：日本承诺对美国投资5500亿美元，重点领域包括造船、能源与半导体，细节<{i}>仍待谈判。\
                 双方同意成立工作组，每季度检查进度并向两国首脑汇报。\
                 分析人士认为，这笔投资的规模在美日关系史上前所未有，落实仍需时间。\
                 日本国内对投资回报与风险分担的讨论也在持续升温，各方意见不一。"
            )
        })
        .collect();
    std::fs::write(dir.path().join("long.txt"), body.join("\n")).unwrap();
    std::fs::write(
        dir.path().join("articles.toml"),
        "[[article]]\nid = \"long\"\nfile = \"long.txt\"\nscript = \"Hans\"\nauthor = \"测试\"\n",
    )
    .unwrap();
    let limits = AnswerConfig {
        max_sentences: 60,
        max_chars: 100_000,
        min_relative_score: 0.0,
        max_sources: 60,
        ..AnswerConfig::default()
    };
    let engine = Engine::from_dir(dir.path(), limits).unwrap();
    let (fake, url) = spawn_fake().await;
    fake.push(message(1, 10, private_chat(7), "日本承诺对美国投资多少？"));
    let running = RunningBot::start_with(&url, engine, settings());
    wait_for(&fake, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.stop().await;

    let sent = fake.sent();
    assert!(sent.len() >= 2, "split into several messages");
    for (i, part) in sent.iter().enumerate() {
        let text = part["text"].as_str().unwrap();
        assert!(text.encode_utf16().count() <= 4096, "part {i} too long");
        assert_telegram_html(text);
        assert!(
            !text.contains("<1>") && text.contains("&lt;"),
            "corpus text escaped"
        );
        assert_eq!(part["parse_mode"], "HTML");
        assert_eq!(
            part["reply_parameters"]["message_id"], 10,
            "every part threaded"
        );
        let last = i + 1 == sent.len();
        assert_eq!(
            !part["reply_markup"].is_null(),
            last,
            "buttons under the last part only"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_over_the_rate_limit_gets_one_notice_then_silence() {
    let (fake, url) = spawn_fake().await;
    for i in 1..=4 {
        fake.push(message(
            i,
            10 + i,
            private_chat(7),
            "日本承诺对美国投资多少？",
        ));
    }
    let mut settings = settings();
    settings.telegram.questions_per_minute = 2;
    let running = RunningBot::start_with(&url, default_engine(), settings);
    wait_for(&fake, 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, metrics) = running.get("/metrics").await;
    running.stop().await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 3, "two answers and one notice: {sent:#?}");
    assert!(sent[2]["text"].as_str().unwrap().contains("提问太频繁"));
    assert!(
        metrics.contains("summit_qa_rate_limited_total{kind=\"question\"} 2"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_is_not_repeated_and_a_repeated_update_is_answered_once() {
    let (fake, url) = spawn_fake().await;
    *fake.bad_gateway.lock().unwrap() = 1;
    let question = message(1, 10, private_chat(7), "QUAD是什么时候复活的？");
    fake.push(question.clone());
    let running = RunningBot::start(&url);
    wait_until(|| fake.attempts("sendmessage") >= 1).await;
    // The same update delivered again (as after a webhook retry), then a new question.
    fake.push(question);
    fake.push(message(2, 11, private_chat(7), "日本承诺对美国投资多少？"));
    wait_for(&fake, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, metrics) = running.get("/metrics").await;
    running.stop().await;
    assert_eq!(
        fake.attempts("sendmessage"),
        2,
        "the 502 (Telegram may have delivered) is not repeated; the next question is answered"
    );
    assert_eq!(fake.sent().len(), 1);
    assert!(fake.sent()[0]["text"].as_str().unwrap().contains("5500"));
    assert!(
        metrics
            .contains("summit_qa_telegram_api_errors_total{method=\"sendMessage\",code=\"5xx\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "summit_qa_telegram_unconfirmed_total{method=\"sendMessage\",code=\"5xx\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_requests_without_the_secret_get_401_and_are_never_processed() {
    let (fake, url) = spawn_fake().await;
    let mut settings = settings();
    settings.webhook = webhook("s3cret_token-1");
    let running = RunningBot::start_with(&url, default_engine(), settings);
    running.wait_ready().await;
    let set = fake.calls_to("setwebhook");
    assert_eq!(set.len(), 1);
    assert_eq!(set[0]["url"], "https://bot.example.org/hook");
    assert_eq!(set[0]["secret_token"], "s3cret_token-1");
    assert!(!fake.called("getupdates"), "no polling in webhook mode");

    let hook = format!("http://{}/hook", running.listen);
    let update = message(1, 10, private_chat(7), "日本承诺对美国投资多少？").to_string();
    let post = |secret: Option<&str>| {
        let mut request = client()
            .post(&hook)
            .header("content-type", "application/json")
            .body(update.clone());
        if let Some(s) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        request.send()
    };
    assert_eq!(post(None).await.unwrap().status().as_u16(), 401);
    let huge = client()
        .post(&hook)
        .header("content-type", "application/json")
        .header("X-Telegram-Bot-Api-Secret-Token", "s3cret_token-1")
        .body("x".repeat(1 << 20))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status().as_u16(), 413, "a 1 MB body is refused");
    assert_eq!(post(Some("wrong")).await.unwrap().status().as_u16(), 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fake.sent().is_empty(), "rejected updates are not processed");

    assert_eq!(
        post(Some("s3cret_token-1"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    wait_for(&fake, 1).await;
    running.stop().await;
    assert!(fake.sent()[0]["text"]
        .as_str()
        .unwrap()
        .contains("5500亿美元"));
    assert!(
        !fake.called("deletewebhook"),
        "stopping one replica keeps the webhook"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_very_long_question_is_answered_from_its_beginning_with_a_note() {
    let (fake, url) = spawn_fake().await;
    // 720 characters: over answer.max_question_chars (500).
    let long = "日本承诺对美国投资多少？".repeat(60);
    fake.push(message(1, 10, private_chat(7), &long));
    let running = RunningBot::start(&url);
    wait_for(&fake, 1).await;
    running.stop().await;
    let text = fake.sent()[0]["text"].as_str().unwrap().to_string();
    assert!(text.contains("5500亿美元"), "{text}");
    assert!(text.contains("问题过长"), "the note on truncation: {text}");
    assert_telegram_html(&text);
}

/// The handler tree alone, wired with `deps!` as the dispatcher wires it: a question gets one
/// reply, the same update again is filtered out before any handler runs, and a group message
/// that does not address the bot is handled silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handler_tree_answers_once_and_ignores_what_is_not_for_it() {
    use std::sync::Arc;
    use summit_qa::ops::Ops;
    use summit_qa::telegram::handlers::{schema, Shared};
    use teloxide::prelude::*;
    use teloxide::types::{Me, Update};

    let (fake, url) = spawn_fake().await;
    let bot = summit_qa::telegram::bot(TOKEN, Some(url.parse().unwrap()), &settings());
    let me: Me = serde_json::from_value(json!({"id": BOT_ID, "is_bot": true, "first_name": "Summit",
        "username": "summit_qa_bot", "can_join_groups": true, "can_read_all_group_messages": false,
        "supports_inline_queries": true, "can_connect_to_business": false, "has_main_web_app": false}))
    .unwrap();
    let shared = Arc::new(
        Shared::new(
            Arc::new(default_engine()),
            &settings(),
            Ops::default(),
            "4242",
        )
        .unwrap(),
    );
    let update = |value: Value| -> Update { serde_json::from_str(&value.to_string()).unwrap() };
    let question = update(message(1, 10, private_chat(7), "日本承诺对美国投资多少？"));
    let run = |u: Update| {
        let deps = dptree::deps![bot.clone(), me.clone(), shared.clone(), u];
        async move { schema().dispatch(deps).await }
    };
    assert!(run(question.clone()).await.is_break(), "handled");
    shared.finish().await; // the reply is made in a task of its own
    assert_eq!(fake.sent().len(), 1);
    assert!(
        run(question).await.is_continue(),
        "a repeated update is filtered out"
    );
    let group = json!({"id": -100, "type": "supergroup", "title": "g"});
    assert!(run(update(message(2, 11, group, "大家好")))
        .await
        .is_break());
    shared.finish().await;
    assert_eq!(
        fake.sent().len(),
        1,
        "nothing sent for a message not addressed to the bot"
    );
}

/// What a newcomer meets: /start and /help are different texts for people in their script
/// (Telegram's language setting), an unknown command gets one line pointing to /help, and a
/// photo in a private chat gets one line asking for text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_help_unknown_commands_and_photos_get_texts_for_people() {
    let (fake, url) = spawn_fake().await;
    let from =
        |lang: &str| json!({"id": 7, "is_bot": false, "first_name": "A", "language_code": lang});
    let text = |update: u64, lang: &str, text: &str| {
        json!({"update_id": update, "message": {"message_id": update, "date": 1761600000,
               "chat": private_chat(7), "from": from(lang), "text": text}})
    };
    fake.push(text(1, "zh-hans", "/start"));
    fake.push(text(2, "zh-TW", "/help"));
    fake.push(text(3, "en", "/weather"));
    fake.push(
        json!({"update_id": 4, "message": {"message_id": 4, "date": 1761600000,
        "chat": private_chat(7), "from": from("en"),
        "photo": [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]}}),
    );
    let running = RunningBot::start(&url);
    wait_for(&fake, 4).await;
    running.stop().await;
    let sent: Vec<String> = fake
        .sent()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert!(sent[0].starts_with("你好！我回答关于"), "{}", sent[0]);
    assert!(
        sent[0].contains("特朗普访日与美日首脑会谈评析"),
        "lists the articles: {}",
        sent[0]
    );
    assert!(!sent[0].contains("docs"), "no code comment: {}", sent[0]);
    assert!(sent[1].starts_with("怎麼問"), "{}", sent[1]);
    assert!(sent[1].contains("/ask"), "{}", sent[1]);
    assert_eq!(
        sent[2],
        "I do not know that command. Send /help to see how to ask."
    );
    assert!(
        sent[3].starts_with("Please send me your question as text"),
        "{}",
        sent[3]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_down_at_start_health_is_served_at_once_and_the_bot_starts_when_it_returns() {
    // A port nothing listens on yet: every call is refused, as when Telegram is unreachable.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let running = RunningBot::start(&format!("http://127.0.0.1:{port}"));

    assert_eq!(
        running.get("/healthz").await.0,
        200,
        "served while Telegram is down"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        running.get("/readyz").await.0,
        503,
        "not ready before registering"
    );

    let (fake, _) = spawn_fake_on(port).await;
    fake.push(message(1, 10, private_chat(7), "日本承诺对美国投资多少？"));
    wait_for(&fake, 1).await;
    assert_eq!(running.get("/readyz").await.0, 200);
    running.stop().await;

    assert!(fake.called("getme") && fake.called("setmycommands"));
    assert_eq!(fake.sent().len(), 1, "the question was answered once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_ends_serve_with_that_reason_in_both_modes() {
    for webhook in [None, webhook("s3cret")] {
        let (fake, url) = spawn_fake().await;
        *fake.reject_token.lock().unwrap() = true;
        let running = RunningBot::start_with(
            &url,
            default_engine(),
            summit_qa::telegram::Settings {
                webhook,
                ..settings()
            },
        );
        let error = running
            .ended()
            .await
            .expect_err("a rejected token ends serve");
        let message = error.to_string();
        assert!(message.contains("rejected the token (401)"), "{message}");
        assert!(message.contains("TELOXIDE_TOKEN"), "{message}");
        assert!(!message.contains(TOKEN), "{message}");
        assert_eq!(fake.attempts("getme"), 1, "not retried");
        assert!(!fake.called("setmycommands"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_dry_run_prints_the_reply_to_a_posted_update_without_telegram_or_a_token() {
    use std::io::BufRead;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = crate::util::binary()
        .args(["serve", "--dry-run"])
        .current_dir(crate::util::root())
        .env_remove("TELOXIDE_TOKEN")
        .env("SUMMIT_QA_HTTP__LISTEN", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, printed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    let update = message(1, 10, private_chat(7), "日本承诺对美国投资多少？");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let posted = client()
            .post(format!("http://127.0.0.1:{port}/telegram"))
            .header("X-Telegram-Bot-Api-Secret-Token", "dry-run")
            .json(&update)
            .send()
            .await;
        if posted.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the webhook never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut output = String::new();
    while !output.contains("5500亿美元") && tokio::time::Instant::now() < deadline {
        if let Ok(line) = printed.recv_timeout(Duration::from_millis(200)) {
            output.push_str(&line);
            output.push('\n');
        }
    }
    assert!(terminate(&mut child).await.success());
    assert!(output.contains("to chat 7:"), "{output}");
    assert!(output.contains("5500亿美元"), "{output}");
}

/// Past `telegram.queue_limit_seconds` an asker is asked to ask again instead of waiting:
/// everyone gets exactly one reply — the answer or "ask again" — and nobody silence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_queue_limit_askers_are_asked_to_ask_again_and_nobody_gets_silence() {
    let (fake, url) = spawn_fake().await;
    *fake.enforce_rate.lock().unwrap() = true;
    let askers = 150;
    for user in 0..askers {
        let chat = 500_000 + user as i64;
        let mut update = message(user + 1, 1, private_chat(chat), "日本承诺对美国投资多少？");
        update["message"]["from"]["id"] = json!(chat);
        fake.push(update);
    }
    let mut settings = settings();
    settings.telegram.queue_notice_seconds = 1;
    settings.telegram.queue_limit_seconds = 2;
    let running = RunningBot::start_with(&url, default_engine(), settings);
    let replied = |fake: &Fake| {
        let sent = fake.sent();
        (0..askers)
            .filter(|user| {
                sent.iter().any(|m| {
                    m["chat_id"] == 500_000 + *user as i64
                        && m["text"]
                            .as_str()
                            .is_some_and(|t| t.contains("[1]") || t.contains("一分钟后再问"))
                })
            })
            .count()
    };
    wait_until(|| replied(&fake) == askers as usize).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.stop().await;

    let sent = fake.sent();
    let mut again = 0;
    for user in 0..askers {
        let to_chat: Vec<&str> = sent
            .iter()
            .filter(|m| m["chat_id"] == 500_000 + user as i64)
            .filter_map(|m| m["text"].as_str())
            .collect();
        let answers = to_chat.iter().filter(|t| t.contains("[1]")).count();
        let asked_again = to_chat
            .iter()
            .filter(|t| t.contains("一分钟后再问"))
            .count();
        assert_eq!(answers + asked_again, 1, "one reply each: {to_chat:?}");
        again += asked_again;
    }
    assert!(again > 0, "some were asked to ask again");
    assert!(again < askers as usize, "and the first were answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_allowlist_answers_listed_chats_and_users_tells_an_unlisted_user_once_and_leaves_unlisted_groups(
) {
    let (fake, url) = spawn_fake().await;
    let mut settings = settings();
    settings.telegram.allowed_chats = vec![-1001];
    settings.telegram.allowed_users = vec![8];
    settings.telegram.leave_unlisted_groups = true;
    let from =
        |id: u64| json!({"id": id, "is_bot": false, "first_name": "U", "language_code": "zh-hans"});
    let mut unlisted_1 = message(1, 10, private_chat(7), "日本承诺对美国投资多少？");
    unlisted_1["message"]["from"] = from(7);
    let mut unlisted_2 = message(2, 11, private_chat(7), "高市早苗送给特朗普什么礼物？");
    unlisted_2["message"]["from"] = from(7);
    let mut listed_user = message(3, 12, private_chat(8), "日本承诺对美国投资多少？");
    listed_user["message"]["from"] = from(8);
    let listed_group = json!({"id": -1001, "type": "supergroup", "title": "Summit"});
    let mut in_listed_group = message(4, 13, listed_group, "/ask 日本承诺对美国投资多少？");
    in_listed_group["message"]["from"] = from(7);
    let other_group = json!({"id": -2002, "type": "group", "title": "Elsewhere"});
    let mut in_other_group = message(5, 14, other_group, "/ask 日本承诺对美国投资多少？");
    in_other_group["message"]["from"] = from(7);
    *fake.updates.lock().unwrap() = vec![
        unlisted_1,
        unlisted_2,
        listed_user,
        in_listed_group,
        in_other_group,
    ];
    fake.push(
        json!({"update_id": 6, "inline_query": {"id": "q1", "from": from(7),
        "query": "日本承诺对美国投资多少？", "offset": ""}}),
    );
    let running = RunningBot::start_with(&url, default_engine(), settings);
    wait_until(|| {
        fake.sent().len() >= 3 && fake.called("leavechat") && fake.called("answerinlinequery")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let metrics = running.get("/metrics").await.1;
    running.stop().await;

    let sent = fake.sent();
    assert_eq!(sent.len(), 3, "{sent:#?}");
    let to_7: Vec<&Value> = sent.iter().filter(|m| m["chat_id"] == 7).collect();
    assert_eq!(to_7.len(), 1, "one line, then silence: {to_7:#?}");
    assert!(
        to_7[0]["text"].as_str().unwrap().contains("受邀"),
        "{}",
        to_7[0]["text"]
    );
    for chat in [8, -1001] {
        let reply = sent
            .iter()
            .find(|m| m["chat_id"] == chat)
            .expect("answered");
        assert!(reply["text"].as_str().unwrap().contains("5500亿美元"));
    }
    assert!(
        !sent.iter().any(|m| m["chat_id"] == -2002),
        "silence in an unlisted group"
    );
    assert_eq!(fake.calls_to("leavechat")[0]["chat_id"], -2002);
    let inline = &fake.calls_to("answerinlinequery")[0];
    assert_eq!(
        inline["results"].as_array().unwrap().len(),
        0,
        "no results: {inline}"
    );
    for kind in ["private", "group", "inline"] {
        assert!(
            metrics.contains(&format!(
                "summit_qa_allowlist_refusals_total{{kind=\"{kind}\"}}"
            )),
            "{kind}: {metrics}"
        );
    }
}
