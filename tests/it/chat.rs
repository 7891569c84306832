//! The console chat over the engine.

use summit_qa::console;

use crate::util::engine;

#[test]
fn chat_answers_follow_ups_and_quits() {
    let input = "日本承诺对美国投资多少？\n那防卫装备呢？\n/sources\n\n/quit\n不会被回答\n";
    let mut out = Vec::new();
    console::run(engine(), input.as_bytes(), &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("5500"), "{out}");
    assert!(out.contains("2.5兆日元的美国防卫装备"), "{out}");
    assert!(out.contains("004_8c99b04382caaf45"), "{out}");
    assert!(!out.contains("不会被回答"));
}

#[test]
fn chat_reports_bad_input_and_goes_on() {
    let input = "\u{0}\n高市内阁的支持率是多少？\n";
    let mut out = Vec::new();
    console::run(engine(), input.as_bytes(), &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("empty"), "{out}");
    assert!(out.contains("50%~70%"), "{out}");
}
