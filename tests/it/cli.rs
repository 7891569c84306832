//! The binary: `ask` (text, `--json`, `--batch`), `check`, config overrides and exit codes.

use serde_json::Value;

use crate::util::{run, stderr, stdout};

#[test]
fn ask_prints_answer_and_sources() {
    let o = run(&["ask", "日本承诺对美国投资多少？"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("5500亿美元"));
    assert!(
        out.contains("华浩男 · 复旦中美友好互信合作计划 · 2025-11-03 · ¶"),
        "{out}"
    );
    assert!(
        out.contains("美日同盟與「特朗普衝擊」評論（繁體）（作者、出处不详） · ¶"),
        "an article of unknown author and outlet is named by its label: {out}"
    );
}

/// The README's first example is what `ask` prints, to the character.
#[test]
fn the_readme_example_is_what_ask_prints() {
    let readme = std::fs::read_to_string(crate::util::root().join("README.md")).unwrap();
    let command = "$ cargo run --release -- ask \"高市早苗送给特朗普什么礼物？\"\n";
    let start = readme.find(command).expect("the README shows an ask") + command.len();
    let shown = &readme[start..start + readme[start..].find("```").unwrap()];
    let o = run(&["ask", "高市早苗送给特朗普什么礼物？"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(shown, stdout(&o));
}

#[test]
fn ask_json_keeps_the_contract() {
    let o = run(&["ask", "--json", "日本将购买多少架波音飞机？"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).expect("one JSON object");
    assert_eq!(v["question"], "日本将购买多少架波音飞机？");
    assert_eq!(v["answered"], true);
    assert_eq!(v["reply"], "answer");
    assert!(v["decision"]["claim"].as_f64().unwrap() > 0.5, "{v}");
    assert!(v["answer"].as_str().unwrap().contains("[1]"));
    assert!(v["took_us"].is_u64());
    let citations = v["citations"].as_array().unwrap();
    assert!(!citations.is_empty());
    for (i, c) in citations.iter().enumerate() {
        assert_eq!(c["n"], i + 1);
        for key in ["article", "text"] {
            assert!(c[key].is_string(), "{key} in {c}");
        }
        for key in ["author", "publisher", "published"] {
            assert!(c[key].is_string() || c[key].is_null(), "{key} in {c}");
        }
        assert!(c["paragraph"].is_u64() && c["score"].is_number());
    }
    let unknown = citations
        .iter()
        .find(|c| c["article"] == "004_8c99b04382caaf45")
        .unwrap();
    assert!(
        unknown["author"].is_null()
            && unknown["publisher"].is_null()
            && unknown["published"].is_null()
    );
}

#[test]
fn refusal_in_json_has_no_citations() {
    let o = run(&["ask", "--json", "谁赢得了2024年欧洲杯？"], &[]);
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["answered"], false);
    assert_eq!(v["citations"].as_array().unwrap().len(), 0);
    assert!(v["answer"].as_str().unwrap().contains("没有涉及"));
}

#[test]
fn batch_echoes_ids_in_order_and_ignores_other_fields() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"a\", \"q\": \"QUAD是什么时候复活的？\", \"gold\": []}\n\n{\"q\": \"What gift did Takaichi give Trump?\", \"id\": 7}\n{\"id\": \"c\", \"q\": \"今天东京的天气怎么样？\"}\n",
    )
    .unwrap();
    let o = run(&["ask", "--batch", file.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["id"], "a");
    assert_eq!(lines[1]["id"], 7);
    assert_eq!(lines[2]["id"], "c");
    assert!(lines[0]["answer"].as_str().unwrap().contains("2017年11月"));
    assert_eq!(lines[2]["answered"], false);
}

#[test]
fn batch_bad_line_is_reported_in_place_and_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.jsonl");
    std::fs::write(&file, "{\"id\": 1, \"q\": \"高市内阁的支持率是多少？\"}\nnot json\n{\"id\": 3}\n{\"id\": 4, \"q\": \"\"}\n").unwrap();
    let o = run(&["ask", "--batch", file.to_str().unwrap()], &[]);
    assert!(!o.status.success());
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["answered"], true);
    assert!(lines[1]["error"].as_str().unwrap().contains("not JSON"));
    assert_eq!(lines[2]["id"], 3);
    assert!(lines[2]["error"].as_str().unwrap().contains("\"q\""));
    assert!(lines[3]["error"].as_str().unwrap().contains("empty"));
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
}

#[test]
fn empty_question_fails_with_a_clear_message() {
    let o = run(&["ask", ""], &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("empty"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn huge_and_odd_questions_do_not_panic() {
    let long = "美".repeat(10_000);
    for q in [long.as_str(), "🙂 <b>&amp;</b> \u{7}", "' OR 1=1; --"] {
        let o = run(&["ask", "--json", q], &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        assert!(v["answered"].is_boolean());
    }
}

#[test]
fn a_question_may_be_unquoted_or_piped_in() {
    let words = "how much did japan pledge to invest in the us".split(' ');
    let args: Vec<&str> = ["ask", "--json"].into_iter().chain(words).collect();
    let o = run(&args, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(
        v["question"],
        "how much did japan pledge to invest in the us"
    );
    assert!(v["answer"].as_str().unwrap().contains("5500"), "{v}");

    let mut child = crate::util::binary()
        .args(["ask", "--json"])
        .current_dir(crate::util::root())
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all("日本承诺对美国投资多少？\n".as_bytes())
        .unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert!(stdout(&piped).contains("5500"), "{}", stdout(&piped));
}

#[test]
fn help_shows_examples() {
    let o = run(&["--help"], &[]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("Examples:\n  summit-qa ask"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn kubernetes_service_variables_do_not_stop_the_start() {
    let o = run(
        &["check"],
        &[
            ("SUMMIT_QA_PORT", "tcp://10.0.0.7:8080"),
            ("SUMMIT_QA_PORT_8080_TCP_ADDR", "10.0.0.7"),
            ("SUMMIT_QA_SERVICE_HOST", "10.0.0.7"),
            ("SUMMIT_QA_SERVICE_PORT", "8080"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("config ok"), "{}", stdout(&o));
    let typo = run(&["check"], &[("SUMMIT_QA_CORPUS_DIRR", "x")]);
    assert!(
        !typo.status.success(),
        "an unknown setting is still an error"
    );
}

#[test]
fn check_reports_what_it_found() {
    let o = run(&["check"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("000_128d67810036f820.txt (Hans)"), "{out}");
    assert!(out.contains("004_8c99b04382caaf45.txt (Hant)"), "{out}");
    assert!(out.contains("credits"), "{out}");
    assert!(out.contains("meaning: on, model models/"), "{out}");
    let off = run(&["check"], &[("SUMMIT_QA_SEMANTIC__ENABLED", "false")]);
    assert!(stdout(&off).contains("meaning: off"), "{}", stdout(&off));
    let missing = run(
        &["check"],
        &[
            ("SUMMIT_QA_SEMANTIC__ENABLED", "true"),
            ("SUMMIT_QA_SEMANTIC__MODEL", "models/none.q4"),
        ],
    );
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("models/none.q4"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn environment_overrides_the_config_file() {
    let o = run(
        &["check"],
        &[("SUMMIT_QA_CORPUS_DIR", "/nonexistent/corpus")],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/nonexistent/corpus"), "{}", stderr(&o));
    // With meaning off, words alone decide: the flagship question's best passage covers ~0.5
    // of it, answered at the default threshold, refused when the environment raises it.
    let ask = |env: &[(&str, &str)]| -> Value {
        let mut env = env.to_vec();
        env.push(("SUMMIT_QA_SEMANTIC__ENABLED", "false"));
        let o = run(&["ask", "--json", "日本承诺对美国投资多少？"], &env);
        serde_json::from_str(stdout(&o).trim()).unwrap()
    };
    let default = ask(&[]);
    assert_eq!(default["answered"], true);
    assert!(default["decision"].is_null(), "{default}");
    assert!(default["coverage"].as_f64().unwrap() < 0.9, "{default}");
    let strict = ask(&[("SUMMIT_QA_ANSWER__MIN_CONFIDENCE", "0.9")]);
    assert_eq!(strict["answered"], false, "{strict}");
}

#[test]
fn broken_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, "corpus_dir = [1, 2]\n").unwrap();
    let o = run(&["--config", file.to_str().unwrap(), "check"], &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("broken.toml"), "{}", stderr(&o));
}

#[test]
fn a_reader_that_goes_away_is_not_an_error() {
    use std::process::Stdio;
    for args in [&["check"][..], &["ask", "日本承诺对美国投资多少？"][..]] {
        let mut child = crate::util::binary()
            .args(args)
            .current_dir(crate::util::root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // like `summit-qa check | head -0`
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(out.status.success(), "{args:?}: {err}");
    }
}

/// The README stays a user's page (at most 200 lines), and every file it links to exists.
#[test]
fn the_readme_is_short_and_its_links_resolve() {
    let root = crate::util::root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.lines().count() <= 200,
        "README.md has {} lines",
        readme.lines().count()
    );
    for link in readme.split("](").skip(1) {
        let target = link.split([')', '#']).next().unwrap();
        if target.starts_with("http") || target.is_empty() {
            continue;
        }
        assert!(
            root.join(target).exists(),
            "README links to {target}, which is missing"
        );
    }
}

/// Run from another folder, a missing corpus is named by its full path, with where relative
/// folders are read from and what to do.
#[test]
fn run_elsewhere_the_missing_corpus_is_named_in_full_with_what_to_do() {
    let elsewhere = tempfile::tempdir().unwrap();
    let o = crate::util::binary()
        .args(["ask", "日本承诺对美国投资多少？"])
        .current_dir(elsewhere.path())
        .env_remove("SUMMIT_QA_INDEX_DIR")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = stderr(&o);
    let corpus = elsewhere.path().join("corpus");
    assert!(e.contains(&corpus.display().to_string()), "{e}");
    assert!(
        e.contains("read from the current folder") && e.contains("corpus_dir"),
        "{e}"
    );
}
