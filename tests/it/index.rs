//! The index on disk: `summit-qa index` adds, re-indexes and removes articles incrementally,
//! skips bad files by name, survives being killed mid-build, and a running engine swaps in a
//! new generation (buttons from before a change say so instead of showing a wrong paragraph).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use summit_qa::{engine, Config, Engine};

use crate::fake_api::*;
use crate::util::{corpus_copy, run, stderr, stdout};

const NEW_ARTICLE: &str =
    "测试标题\n\n冲绳县将于明年春天举办首届珊瑚礁保护论坛，邀请了40位海洋学者出席。\n";
const NEW_QUESTION: &str = "珊瑚礁保护论坛邀请了多少位海洋学者？";

/// A corpus copy and an index folder of its own.
struct Library {
    corpus: tempfile::TempDir,
    index: tempfile::TempDir,
}

impl Library {
    fn new() -> Library {
        Library {
            corpus: corpus_copy(),
            index: tempfile::tempdir().unwrap(),
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SUMMIT_QA_CORPUS_DIR", path(self.corpus.path())),
            ("SUMMIT_QA_INDEX_DIR", path(self.index.path())),
            // These tests are about the word index; the vectors have their own below.
            ("SUMMIT_QA_SEMANTIC__ENABLED", "false".into()),
        ]
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(args, &env)
    }

    fn config(&self) -> Config {
        Config {
            corpus_dir: self.corpus.path().to_path_buf(),
            index_dir: self.index.path().to_path_buf(),
            semantic: summit_qa::config::SemanticConfig {
                enabled: summit_qa::config::Switch::Fixed(false),
                ..Default::default()
            },
            ..Config::default()
        }
    }

    fn add_article(&self, id: &str, text: &str) {
        std::fs::write(self.corpus.path().join(format!("{id}.txt")), text).unwrap();
        let metadata = self.corpus.path().join("articles.toml");
        let mut meta = std::fs::read_to_string(&metadata).unwrap();
        meta.push_str(&format!(
            "\n[[article]]\nid = \"{id}\"\nfile = \"{id}.txt\"\nscript = \"Hans\"\nauthor = \"测试\"\n"
        ));
        std::fs::write(metadata, meta).unwrap();
    }

    fn file(&self, name: &str) -> PathBuf {
        self.corpus.path().join(name)
    }
}

fn path(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

#[test]
fn index_adds_changes_and_removes_only_what_changed() {
    let lib = Library::new();
    let first = lib.run(&["index"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("2 added, 0 changed, 0 removed, 0 unchanged"),
        "{}",
        stdout(&first)
    );

    let again = lib.run(&["index"]);
    assert!(
        stdout(&again).contains("0 added, 0 changed, 0 removed, 2 unchanged"),
        "{}",
        stdout(&again)
    );

    lib.add_article("010_test", NEW_ARTICLE);
    let added = lib.run(&["index"]);
    assert!(
        stdout(&added).contains("1 added, 0 changed, 0 removed, 2 unchanged"),
        "{}",
        stdout(&added)
    );
    let answer = lib.run(&["ask", NEW_QUESTION]);
    assert!(
        stdout(&answer).contains("40位海洋学者"),
        "{}",
        stdout(&answer)
    );

    std::fs::write(
        lib.file("010_test.txt"),
        NEW_ARTICLE.replace("40位", "45位"),
    )
    .unwrap();
    let changed = lib.run(&["index"]);
    assert!(
        stdout(&changed).contains("0 added, 1 changed, 0 removed, 2 unchanged"),
        "{}",
        stdout(&changed)
    );
    let answer = stdout(&lib.run(&["ask", NEW_QUESTION]));
    assert!(
        answer.contains("45位海洋学者") && !answer.contains("40位"),
        "{answer}"
    );

    let metadata = lib.file("articles.toml");
    let meta = std::fs::read_to_string(&metadata).unwrap();
    std::fs::write(
        &metadata,
        &meta[..meta.find("\n[[article]]\nid = \"010_test\"").unwrap()],
    )
    .unwrap();
    std::fs::remove_file(lib.file("010_test.txt")).unwrap();
    let removed = lib.run(&["index"]);
    assert!(
        stdout(&removed).contains("0 added, 0 changed, 1 removed, 2 unchanged"),
        "{}",
        stdout(&removed)
    );
    let answer = stdout(&lib.run(&["ask", "--json", NEW_QUESTION]));
    assert!(answer.contains("\"answered\":false"), "{answer}");
}

#[test]
fn ask_builds_a_missing_index_and_updates_a_stale_one_saying_so() {
    let lib = Library::new();
    let first = lib.run(&["ask", "日本承诺对美国投资多少？"]);
    assert!(first.status.success());
    assert!(stdout(&first).contains("5500"), "{}", stdout(&first));
    assert!(
        stderr(&first).contains("indexed") && stderr(&first).contains("2 added"),
        "{}",
        stderr(&first)
    );
    let fresh = lib.run(&["ask", "日本承诺对美国投资多少？"]);
    assert!(!stderr(&fresh).contains("indexed"), "{}", stderr(&fresh));
    lib.add_article("010_test", NEW_ARTICLE);
    let stale = lib.run(&["ask", NEW_QUESTION]);
    assert!(stderr(&stale).contains("1 added"), "{}", stderr(&stale));
    assert!(
        stdout(&stale).contains("40位海洋学者"),
        "{}",
        stdout(&stale)
    );
}

#[test]
fn bad_files_are_named_and_skipped_and_the_rest_is_indexed() {
    let lib = Library::new();
    lib.add_article("020_binary", "");
    std::fs::write(lib.file("020_binary.txt"), [0xe6, 0x97, 0xff, 0xfe]).unwrap();
    lib.add_article("030_empty", "");
    std::fs::write(lib.file("stray.txt"), "没有条目的文章。\n").unwrap();
    let o = lib.run(&["index"]);
    assert_eq!(o.status.code(), Some(1), "a skipped file fails the run");
    let err = stderr(&o);
    assert!(
        err.contains("020_binary.txt") && err.contains("UTF-8"),
        "{err}"
    );
    assert!(
        err.contains("030_empty.txt") && err.contains("no body paragraph"),
        "{err}"
    );
    assert!(
        err.contains("stray.txt") && err.contains("articles.toml"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    assert!(
        stdout(&o).contains("2 added") && stdout(&o).contains("3 skipped"),
        "{}",
        stdout(&o)
    );
    let answer = lib.run(&["ask", "日本承诺对美国投资多少？"]);
    assert!(
        stdout(&answer).contains("5500"),
        "the good articles are indexed"
    );
}

#[test]
fn a_killed_index_run_leaves_the_previous_index_usable() {
    let lib = Library::new();
    assert!(lib.run(&["index"]).status.success());
    let before = Engine::load(&lib.config()).unwrap().fingerprint();
    // Enough articles that indexing takes a while; kill it once it reports progress.
    let seed = std::fs::read_to_string(lib.file("000_128d67810036f820.txt")).unwrap();
    for i in 0..300 {
        lib.add_article(
            &format!("copy_{i:03}"),
            &seed.replace("5500", &format!("{}", 6000 + i)),
        );
    }
    let mut child = crate::util::binary()
        .arg("index")
        .current_dir(crate::util::root())
        .envs(lib.env())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut progress = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut progress, &mut line).unwrap();
    assert!(line.contains("indexing"), "{line}");
    child.kill().unwrap();
    child.wait().unwrap();

    let engine = Engine::load(&lib.config()).unwrap();
    assert_eq!(
        engine.fingerprint(),
        before,
        "the old generation is still the index"
    );
    assert_eq!(engine.articles().len(), 2);
    assert!(engine
        .ask("日本承诺对美国投资多少？", None)
        .unwrap()
        .answered());
    let finished = lib.run(&["index"]);
    assert!(
        stdout(&finished).contains("300 added"),
        "{}",
        stdout(&finished)
    );
}

#[test]
fn reload_swaps_the_generation_while_answers_keep_flowing() {
    let lib = Library::new();
    engine::build(&lib.config(), &mut |_, _, _| {}).unwrap();
    let engine = Arc::new(Engine::load(&lib.config()).unwrap());
    assert!(!engine.ask(NEW_QUESTION, None).unwrap().answered());
    assert_eq!(engine.refresh().unwrap(), None, "nothing new on disk");

    let asking = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            (0..200)
                .filter(|_| {
                    engine
                        .ask("日本承诺对美国投资多少？", None)
                        .unwrap()
                        .answered()
                })
                .count()
        })
    };
    lib.add_article("010_test", NEW_ARTICLE);
    engine::build(&lib.config(), &mut |_, _, _| {}).unwrap();
    let before = engine.fingerprint();
    let after = engine
        .refresh()
        .unwrap()
        .expect("a new commit is picked up");
    assert_ne!(before, after);
    assert_eq!(
        asking.join().unwrap(),
        200,
        "every answer in flight was answered"
    );
    let a = engine.ask(NEW_QUESTION, None).unwrap();
    assert!(a.answered() && a.text().contains("40位海洋学者"), "{a:?}");
    assert_eq!(a.corpus, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_from_before_a_corpus_change_says_it_is_out_of_date() {
    let lib = Library::new();
    engine::build(&lib.config(), &mut |_, _, _| {}).unwrap();
    let engine = Arc::new(Engine::load(&lib.config()).unwrap());
    let (fake, url) = spawn_fake().await;
    fake.push(message(1, 10, private_chat(7), "日本承诺对美国投资多少？"));
    let running = RunningBot::start_with(&url, engine.clone(), settings());
    wait_for(&fake, 1).await;
    let answer = fake.sent()[0].clone();
    let full = button(&answer, "完整段落");

    // The cited article changes (a paragraph inserted before it), and the engine reloads.
    let file = lib.file("000_128d67810036f820.txt");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("新插入的一段正文，没有别的意思。\n\n{text}")).unwrap();
    engine::build(&lib.config(), &mut |_, _, _| {}).unwrap();
    engine.refresh().unwrap().expect("reloaded");

    fake.push(callback_from(2, bot_message(&answer), &full, 7));
    wait_until(|| fake.attempts("answercallbackquery") >= 1).await;
    running.stop().await;
    let ack = &fake.calls_to("answercallbackquery")[0];
    assert!(
        ack["text"].as_str().unwrap_or("").contains("已失效"),
        "the press is answered as out of date: {ack}"
    );
    assert_eq!(
        fake.sent().len(),
        1,
        "no passage is shown: {:#?}",
        fake.sent()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_swaps_in_a_new_index_on_sighup() {
    let lib = Library::new();
    assert!(lib.run(&["index"]).status.success());
    let (fake, url) = spawn_fake().await;
    let mut env = lib.env();
    env.push(("RUST_LOG", "summit_qa=info".into()));
    let mut child = spawn_serve(&url, &env, true);
    fake.push(message(1, 10, private_chat(7), NEW_QUESTION));
    wait_for(&fake, 1).await;
    assert!(
        !fake.sent()[0]["text"].as_str().unwrap().contains("40位"),
        "not in the corpus yet"
    );

    lib.add_article("010_test", NEW_ARTICLE);
    assert!(lib.run(&["index"]).status.success());
    let pid = child.id().to_string();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(hup.success());
    // The reload takes a moment; ask until the new article answers (at most ~10 s).
    let mut answered = false;
    for update in 2..20 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        fake.push(message(update, 10 + update, private_chat(7), NEW_QUESTION));
        wait_for(&fake, update as usize).await;
        if fake.sent().last().unwrap()["text"]
            .as_str()
            .unwrap()
            .contains("40位海洋学者")
        {
            answered = true;
            break;
        }
    }
    assert!(terminate(&mut child).await.success());
    let logs = String::from_utf8_lossy(&child.wait_with_output().unwrap().stderr).into_owned();
    assert!(
        answered,
        "the new article was never answered after SIGHUP: {logs}"
    );
    assert!(
        logs.contains("index reloaded") && logs.contains("signal=true"),
        "reloaded on the signal: {logs}"
    );
}

/// A small corpus of two short articles of our own, indexed with the model on.
fn small_library() -> (tempfile::TempDir, tempfile::TempDir) {
    let corpus = tempfile::tempdir().unwrap();
    std::fs::write(corpus.path().join("a.txt"), NEW_ARTICLE).unwrap();
    std::fs::write(
        corpus.path().join("b.txt"),
        "第二篇\n\n横滨港今年夏天迎来了十艘邮轮。市政府说游客人数创下新高。\n",
    )
    .unwrap();
    std::fs::write(
        corpus.path().join("articles.toml"),
        "[[article]]\nid = \"a\"\nfile = \"a.txt\"\nscript = \"Hans\"\n\n[[article]]\nid = \"b\"\nfile = \"b.txt\"\nscript = \"Hans\"\n",
    )
    .unwrap();
    (corpus, tempfile::tempdir().unwrap())
}

#[test]
fn sentence_vectors_are_kept_with_the_index_and_made_only_for_changed_text() {
    let (corpus, index) = small_library();
    let model = crate::util::root().join("models/multilingual-e5-small-zh-en.q4");
    let run_with = |model: &Path| {
        let env = [
            ("SUMMIT_QA_CORPUS_DIR", path(corpus.path())),
            ("SUMMIT_QA_INDEX_DIR", path(index.path())),
            ("SUMMIT_QA_SEMANTIC__ENABLED", "true".into()),
            ("SUMMIT_QA_SEMANTIC__MODEL", path(model)),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let o = run(&["index"], &env);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let first = run_with(&model);
    assert!(
        first.contains("4 passages embedded, 0 vectors reused"),
        "{first}"
    );
    assert!(index.path().join("vectors.bin").is_file());

    let again = run_with(&model);
    assert!(!again.contains("embedded"), "nothing changed: {again}");

    // One sentence of b changes: only it is embedded again.
    let b = corpus.path().join("b.txt");
    let text = std::fs::read_to_string(&b).unwrap();
    std::fs::write(&b, text.replace("十艘", "十二艘")).unwrap();
    let changed = run_with(&model);
    assert!(changed.contains("1 changed"), "{changed}");
    assert!(
        changed.contains("2 passages embedded, 1 vectors reused"),
        "{changed}"
    );

    // Another model file (one value of its position table differs): every vector is made again.
    let other = tempfile::tempdir().unwrap();
    let copy = other.path().join("other.q4");
    let mut bytes = std::fs::read(&model).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&copy, bytes).unwrap();
    let rebuilt = run_with(&copy);
    assert!(
        rebuilt.contains("4 passages embedded, 0 vectors reused"),
        "{rebuilt}"
    );

    // With the model off, the index answers from words alone.
    let env = [
        ("SUMMIT_QA_CORPUS_DIR", path(corpus.path())),
        ("SUMMIT_QA_INDEX_DIR", path(index.path())),
        ("SUMMIT_QA_SEMANTIC__ENABLED", "false".into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = stdout(&run(&["ask", NEW_QUESTION], &env));
    assert!(answer.contains("40位海洋学者"), "{answer}");
}
