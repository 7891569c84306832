//! `summit-qa calibrate`: fits the decision on labeled sets, reports cross-validated and
//! held-out numbers, writes a file the engine then answers with; a broken file is named and
//! the word thresholds decide.

use serde_json::Value;

use crate::util::{run, stderr, stdout};

#[test]
fn calibrate_writes_a_decision_the_engine_answers_with() {
    let dir = tempfile::tempdir().unwrap();
    let decision = dir.path().join("decision.json");
    let decision_env = decision.to_str().unwrap().to_string();
    let env = [("SUMMIT_QA_SEMANTIC__DECISION", decision_env.as_str())];
    let o = run(
        &[
            "calibrate",
            "tests/fixtures/dev.jsonl",
            "tests/fixtures/general.jsonl",
            "--held-out",
            "tests/fixtures/small_talk.jsonl",
        ],
        &env,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let report = stdout(&o);
    for part in [
        "leave-one-set-out",
        "dev.jsonl",
        "held out of every fit",
        "small_talk.jsonl",
    ] {
        assert!(report.contains(part), "{part}: {report}");
    }
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&decision).unwrap()).unwrap();
    assert_eq!(file["fitted_on"].as_array().unwrap().len(), 2);
    assert!(file["fitted_on"][0]["checksum"].as_str().unwrap().len() == 16);
    assert!(!file["exemplars"].as_array().unwrap().is_empty());

    // The engine answers with it: the reply carries its probabilities.
    let o = run(&["ask", "--json", "日本将购买多少架波音飞机？"], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert!(v["decision"]["claim"].is_number(), "{v}");
    // `check` says which decision it is.
    let o = run(&["check"], &env);
    assert!(stdout(&o).contains("decision.json"), "{}", stdout(&o));

    // A broken file is named, and the word thresholds decide.
    std::fs::write(&decision, "{").unwrap();
    let o = run(&["ask", "--json", "日本将购买多少架波音飞机？"], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("decision.json"), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert!(v["decision"].is_null(), "{v}");
    assert_eq!(v["answered"], true);
}

#[test]
fn calibrate_needs_two_sets_and_names_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let decision = dir.path().join("decision.json");
    let decision_env = decision.to_str().unwrap().to_string();
    let env = [("SUMMIT_QA_SEMANTIC__DECISION", decision_env.as_str())];
    let o = run(&["calibrate", "tests/fixtures/dev.jsonl"], &env);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("two labeled sets"), "{}", stderr(&o));
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"q\": \"x\", \"kind\": \"fact\", \"gold\": []}\nnot json\n",
    )
    .unwrap();
    let o = run(
        &[
            "calibrate",
            "tests/fixtures/general.jsonl",
            bad.to_str().unwrap(),
        ],
        &env,
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("bad.jsonl") && stderr(&o).contains("line 2"),
        "{}",
        stderr(&o)
    );
    assert!(!decision.exists(), "nothing written on failure");
}
