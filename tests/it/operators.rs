//! What operators get: admin commands over the recorded questions and votes, `/forget`, and
//! the export for labeling — against the fake Bot API, records in a file.

use std::time::Duration;

use serde_json::{json, Value};

use crate::fake_api::*;

fn from(id: u64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": "U", "language_code": "en"})
}

fn asked(update: u64, user: u64, text: &str) -> Value {
    let mut m = message(update, update * 10, private_chat(user as i64), text);
    m["message"]["from"] = from(user);
    m
}

fn text_to(fake: &Fake, chat: i64) -> Vec<String> {
    fake.sent()
        .iter()
        .filter(|m| m["chat_id"] == chat)
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sees_stats_unanswered_and_feedback_and_forget_removes_only_the_askers_records() {
    let (fake, url) = spawn_fake().await;
    let mut settings = settings();
    settings.telegram.admins = vec![99];
    let data_dir = settings.data_dir.clone();
    // 20 questions from four users: 12 the articles answer, 4 general knowledge, 4 small talk.
    let questions = [
        "日本承诺对美国投资多少？",
        "高市早苗送给特朗普什么礼物？",
        "How tall is the Eiffel Tower?",
        "谢谢",
    ];
    let mut update = 0;
    for user in [7u64, 8, 9, 10] {
        for q in questions {
            update += 1;
            fake.push(asked(update, user, q));
        }
    }
    for user in [7u64, 8, 9, 10] {
        update += 1;
        fake.push(asked(update, user, "日本承诺对美国投资多少？"));
    }
    let running = RunningBot::start_with(&url, default_engine(), settings);
    wait_for(&fake, 20).await;
    // User 8 votes 👎 on their first answer.
    let first_to_8 = fake
        .sent()
        .into_iter()
        .find(|m| m["chat_id"] == 8 && m["reply_markup"].is_object())
        .unwrap();
    let down = button(&first_to_8, "👎");
    fake.push(callback_from(100, bot_message(&first_to_8), &down, 8));
    wait_until(|| fake.attempts("answercallbackquery") >= 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    fake.push(asked(101, 99, "/stats"));
    fake.push(asked(102, 7, "/stats"));
    wait_until(|| {
        !text_to(&fake, 99).is_empty() && !text_to(&fake, 7).iter().all(|t| !t.contains("/help"))
    })
    .await;
    let stats = text_to(&fake, 99).pop().unwrap();
    assert!(stats.contains("Last 1 day: 20 questions"), "{stats}");
    // The counts by kind are the engine's own replies to the 20 questions.
    let engine = default_engine();
    for kind in ["answer", "closest", "not_stated", "refused", "small_talk"] {
        let of = |q: &str| usize::from(engine.ask(q, None).unwrap().reply.name() == kind);
        let n = 4 * questions.iter().map(|q| of(q)).sum::<usize>() + 4 * of(questions[0]);
        assert!(
            stats.contains(&format!("{kind} {n}")),
            "{kind} {n}: {stats}"
        );
    }
    assert!(stats.contains("👎 1"), "{stats}");
    assert!(stats.contains("private chats (20)"), "{stats}");
    let metrics = running.get("/metrics").await.1;
    let first_reply = engine.ask(questions[0], None).unwrap().reply.name();
    assert!(
        metrics.contains(&format!(
            "summit_qa_votes_by_reply_total{{vote=\"down\",reply=\"{first_reply}\"}} 1"
        )),
        "{metrics}"
    );
    let to_7 = text_to(&fake, 7);
    assert!(
        to_7.last().unwrap().contains("/help"),
        "a non-admin's /stats is unknown: {to_7:?}"
    );
    assert!(!to_7.iter().any(|t| t.contains("Last 1 day")));

    fake.push(asked(103, 99, "/unanswered"));
    wait_until(|| text_to(&fake, 99).len() >= 2).await;
    let unanswered = text_to(&fake, 99).pop().unwrap();
    assert!(
        unanswered.contains("4× How tall is the Eiffel Tower?"),
        "{unanswered}"
    );
    fake.push(asked(104, 99, "/feedback"));
    wait_until(|| text_to(&fake, 99).len() >= 3).await;
    let feedback = text_to(&fake, 99).pop().unwrap();
    assert!(
        feedback.contains("👎 日本承诺对美国投资多少？ — "),
        "{feedback}"
    );

    fake.push(asked(105, 8, "/forget"));
    wait_until(|| text_to(&fake, 8).iter().any(|t| t.contains("Deleted your"))).await;
    assert!(
        text_to(&fake, 8)
            .iter()
            .any(|t| t.contains("Deleted your 6 records")),
        "5 questions and a vote"
    );
    fake.push(asked(106, 99, "/stats 1"));
    wait_until(|| text_to(&fake, 99).len() >= 4).await;
    let after = text_to(&fake, 99).pop().unwrap();
    assert!(after.contains("Last 1 day: 15 questions"), "{after}");
    assert!(after.contains("👎 0"), "{after}");
    running.stop().await;

    let scoped = fake.calls_to("setmycommands");
    let admin_menu = scoped
        .iter()
        .find(|c| c["scope"]["type"] == "chat")
        .expect("the admin's own menu");
    assert_eq!(admin_menu["scope"]["chat_id"], 99);
    assert!(
        admin_menu.to_string().contains("\"/stats\""),
        "{admin_menu}"
    );
    assert!(!scoped
        .iter()
        .filter(|c| c["scope"].is_null())
        .any(|c| c.to_string().contains("\"/stats\"")));
    let kept = std::fs::read_to_string(data_dir.join("journal.jsonl")).unwrap();
    assert!(
        !kept.contains("\"7\"") && !kept.contains("\"8\""),
        "no raw ids"
    );
}

/// Keeps `questions` (text, reply) and a 👎 on the first, as the bot would, in `data_dir`.
async fn keep(data_dir: &std::path::Path, questions: &[(&str, &str)]) {
    use summit_qa::journal::{question_id, Journal, Kind, Record};
    let journal = Journal::at(data_dir, None, 90).unwrap();
    for (i, (q, reply)) in questions.iter().enumerate() {
        let record = Record {
            at: summit_qa::journal::now() - 60 + i as u64,
            kind: Kind::Question,
            question_id: question_id(q),
            question: Some(q.to_string()),
            reply: Some(reply.to_string()),
            cited: vec!["000_128d67810036f820 ¶37".into()],
            took_ms: Some(25.0),
            up: None,
            chat: "c1".into(),
            chat_type: "private".into(),
            chat_title: None,
            user: "u1".into(),
        };
        journal.record(&record).await.unwrap();
    }
    let vote = Record {
        kind: Kind::Vote,
        up: Some(false),
        question: None,
        reply: None,
        cited: Vec::new(),
        took_ms: None,
        at: summit_qa::journal::now(),
        question_id: question_id(questions[0].0),
        chat: "c1".into(),
        chat_type: "private".into(),
        chat_title: None,
        user: "u1".into(),
    };
    journal.record(&vote).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_labels_and_calibrate_close_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    keep(
        &data_dir,
        &[
            ("日本要买多少架波音？", "closest"),
            ("How tall is the Eiffel Tower?", "refused"),
            ("高市送了特朗普啥", "answer"),
        ],
    )
    .await;
    let data_env = data_dir.to_str().unwrap().to_string();
    let o = crate::util::run(
        &["feedback", "export", "--since", "2020-01-01"],
        &[("SUMMIT_QA_DATA_DIR", data_env.as_str())],
    );
    assert!(o.status.success(), "{}", crate::util::stderr(&o));
    let lines: Vec<Value> = crate::util::stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["q"], "日本要买多少架波音？");
    assert_eq!(lines[0]["vote"], "down");
    assert_eq!(lines[0]["reply"], "closest");
    assert_eq!(lines[1]["lang"], "en");
    assert_eq!(lines[0]["citations"][0], "000_128d67810036f820 ¶37");

    // The operator labels each line: the passage that answers it, or why nothing does.
    let labels = [
        json!({"kind": "fact", "gold": [{"doc": "000", "has": "购买100架波音飞机"}]}),
        json!({"kind": "none", "why": "general"}),
        json!({"kind": "fact", "gold": [{"doc": "000", "has": "高尔夫球杆"}]}),
    ];
    let labeled: String = lines
        .iter()
        .zip(labels)
        .map(|(line, label)| {
            let mut line = line.clone();
            for (k, v) in label.as_object().unwrap() {
                line[k] = v.clone();
            }
            format!("{line}\n")
        })
        .collect();
    let set = dir.path().join("ours.jsonl");
    std::fs::write(&set, labeled).unwrap();
    let decision = dir.path().join("decision.json");
    let decision_env = decision.to_str().unwrap().to_string();
    let o = crate::util::run(
        &[
            "calibrate",
            set.to_str().unwrap(),
            "tests/fixtures/general.jsonl",
            "tests/fixtures/dev.jsonl",
        ],
        &[("SUMMIT_QA_SEMANTIC__DECISION", decision_env.as_str())],
    );
    assert!(o.status.success(), "{}", crate::util::stderr(&o));
    assert!(
        crate::util::stdout(&o).contains("ours.jsonl"),
        "{}",
        crate::util::stdout(&o)
    );
    let fitted: Value = serde_json::from_str(&std::fs::read_to_string(&decision).unwrap()).unwrap();
    assert!(
        fitted["fitted_on"].to_string().contains("ours.jsonl"),
        "{fitted}"
    );

    let o = crate::util::run(
        &["feedback", "export", "--since", "someday"],
        &[("SUMMIT_QA_DATA_DIR", data_env.as_str())],
    );
    assert!(!o.status.success());
    assert!(
        crate::util::stderr(&o).contains("YYYY-MM-DD"),
        "{}",
        crate::util::stderr(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_groups_one_question_asked_in_three_wordings() {
    let (fake, url) = spawn_fake().await;
    let mut settings = settings();
    settings.telegram.admins = vec![99];
    let wordings = [
        "How tall is the Eiffel Tower?",
        "How high is the Eiffel Tower?",
        "What is the height of the Eiffel Tower?",
    ];
    for (i, q) in wordings
        .iter()
        .chain(["Who won the 2022 World Cup?"].iter())
        .enumerate()
    {
        fake.push(asked(i as u64 + 1, 7 + i as u64, q));
    }
    let running = RunningBot::start_with(&url, default_engine(), settings);
    wait_for(&fake, 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    fake.push(asked(10, 99, "/unanswered"));
    wait_until(|| !text_to(&fake, 99).is_empty()).await;
    running.stop().await;
    let listed = text_to(&fake, 99).pop().unwrap();
    let lines: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].starts_with("3× "), "{listed}");
    for w in wordings {
        assert!(lines[0].contains(w), "{w}: {listed}");
    }
    assert_eq!(lines[1], "1× Who won the 2022 World Cup?");
}
