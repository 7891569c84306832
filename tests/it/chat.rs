//! The console chat over the engine.

use summit_qa::console;

use crate::util::engine;

/// The console's whole output for the given input lines.
fn chat(input: &str) -> String {
    let mut out = Vec::new();
    console::run(engine(), input.as_bytes(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn chat_answers_follow_ups_and_quits() {
    let out = chat(
        "日本承诺对美国投资多少？\n那防卫装备呢？\n/sources\n\n/quit\nQUAD是什么时候复活的？\n",
    );
    assert!(out.contains("5500"), "{out}");
    assert!(out.contains("2.5兆日元的美国防卫装备"), "{out}");
    assert!(out.contains("004_8c99b04382caaf45"), "{out}");
    assert!(!out.contains("2017年11月"), "answered after /quit: {out}");
}

#[test]
fn chat_reports_bad_input_and_goes_on() {
    let out = chat("\u{0}\n高市内阁的支持率是多少？\n");
    assert!(out.contains("empty"), "{out}");
    assert!(out.contains("50%~70%"), "{out}");
}

#[test]
fn exit_quit_and_help_work_without_a_slash() {
    let out = chat("help\n日本承诺对美国投资多少？\nexit\nQUAD是什么时候复活的？\n");
    assert!(
        out.matches("summit-qa —").count() >= 2,
        "help repeats the greeting: {out}"
    );
    assert!(out.contains("5500"), "{out}");
    assert!(!out.contains("2017年11月"), "answered after exit: {out}");
    let out = chat("hello\nquit\n");
    assert!(
        !out.contains("不作回答") && !out.contains("do not cover"),
        "{out}"
    );
}
