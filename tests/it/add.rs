//! `summit-qa add`: pages served by a real HTTP server on 127.0.0.1 (the fixture pages in
//! tests/fixtures/pages, plus a redirect chain, a slow server, an oversized page, a non-HTML
//! type and a 404), added to a copy of the corpus, asked about, added again.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::extract::Path as Route;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use percent_encoding::percent_decode_str;
use summit_qa::add::page;

use crate::util::{corpus_copy, root, run, stderr, stdout};

fn pages_dir() -> PathBuf {
    root().join("tests/fixtures/pages")
}

/// The User-Agent of the last page request.
static USER_AGENT: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

async fn page_file(Route(name): Route<String>, headers: axum::http::HeaderMap) -> Response {
    if let Some(agent) = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
    {
        *USER_AGENT.lock().unwrap() = agent.to_string();
    }
    match std::fs::read(pages_dir().join(&name)) {
        Ok(bytes) if name.ends_with(".html") => {
            ([(header::CONTENT_TYPE, "text/html")], bytes).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/redirect/n`: n more redirects, then the UTF-8 article.
async fn redirect(Route(n): Route<u32>) -> Redirect {
    if n == 0 {
        Redirect::to("/article-utf8.html")
    } else {
        Redirect::to(&format!("/redirect/{}", n - 1))
    }
}

/// Feeds published so far (by name: each test has its own feed), and GETs of each.
static PUBLISHED: std::sync::Mutex<BTreeMap<String, usize>> =
    std::sync::Mutex::new(BTreeMap::new());
static FEED_GETS: std::sync::Mutex<BTreeMap<String, usize>> =
    std::sync::Mutex::new(BTreeMap::new());

/// The pages a feed lists, oldest first: two at first, a third once published.
const FEED_PAGES: [(&str, &str, &str); 4] = [
    ("/article-utf8.html", "造船座谈", "2025-10-29"),
    ("/article-big5.html", "交通管制", "2025-10-30"),
    ("/private/draft.html", "草稿", "2025-10-30"),
    ("/article-cluttered.html", "大米", "2025-10-31"),
];

/// Publishes the next entry of feed `name`.
fn publish(name: &str) {
    *PUBLISHED
        .lock()
        .unwrap()
        .entry(name.to_string())
        .or_insert(3) += 1;
}

fn feed_gets(name: &str) -> usize {
    FEED_GETS.lock().unwrap().get(name).copied().unwrap_or(0)
}

/// `/feeds/{name}.rss` or `.atom`: the published entries, with an ETag; 304 when unchanged.
async fn feed(Route(name): Route<String>, headers: axum::http::HeaderMap) -> Response {
    *FEED_GETS.lock().unwrap().entry(name.clone()).or_insert(0) += 1;
    let count = *PUBLISHED.lock().unwrap().entry(name.clone()).or_insert(3);
    let etag = format!("\"v{count}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let base = format!("http://{}", server());
    let entries = &FEED_PAGES[..count];
    let body = if name.ends_with(".json") {
        let items: Vec<serde_json::Value> = entries
            .iter()
            .map(|(path, title, day)| serde_json::json!({"id": path, "url": format!("{base}{path}"), "title": title, "date_published": format!("{day}T08:00:00Z")}))
            .collect();
        serde_json::json!({"version": "https://jsonfeed.org/version/1.1", "title": "測試", "items": items}).to_string()
    } else if name.ends_with(".atom") {
        let items: String = entries
            .iter()
            .map(|(path, title, day)| format!(
                "<entry><title>{title}</title><id>{base}{path}</id><link href=\"{base}{path}\"/><updated>{day}T08:00:00Z</updated></entry>"
            ))
            .collect();
        format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>測試</title><id>{base}/</id><updated>2025-10-31T08:00:00Z</updated>{items}</feed>")
    } else {
        let items: String = entries
            .iter()
            .rev()
            .map(|(path, title, _)| {
                format!("<item><title>{title}</title><link>{base}{path}</link></item>")
            })
            .collect();
        format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>测试</title><link>{base}/</link><description>d</description>{items}</channel></rss>")
    };
    (
        [
            (
                header::CONTENT_TYPE,
                if name.ends_with(".json") {
                    "application/feed+json"
                } else {
                    "application/xml"
                },
            ),
            (header::ETAG, etag.as_str()),
        ],
        body,
    )
        .into_response()
}

/// The pages' server, on a port of its own, for the whole test run.
fn server() -> SocketAddr {
    static ADDR: std::sync::OnceLock<SocketAddr> = std::sync::OnceLock::new();
    *ADDR.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let app = Router::new()
                    .route("/redirect/{n}", get(redirect))
                    .route("/feeds/{name}", get(feed))
                    .route(
                        "/robots.txt",
                        get(|| async { "User-agent: *\nDisallow: /private/\n" }),
                    )
                    .route(
                        "/slow.html",
                        get(|| async {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            "late"
                        }),
                    )
                    .route(
                        "/huge.html",
                        get(|| async {
                            let body = format!("<p>{}</p>", "大".repeat(100_000));
                            ([(header::CONTENT_TYPE, "text/html")], body)
                        }),
                    )
                    .route(
                        "/photo.png",
                        get(|| async {
                            ([(header::CONTENT_TYPE, "image/png")], vec![0x89u8, b'P'])
                        }),
                    )
                    .route("/{name}", get(page_file));
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        rx.recv().unwrap()
    })
}

fn url(path: &str) -> String {
    format!("http://{}{path}", server())
}

/// Settings of a run against a corpus copy: pages on 127.0.0.1 allowed, words alone (the
/// model's vectors are covered by the index tests), a 1 s page timeout, a 100 KB page cap.
fn env<'a>(corpus: &'a Path, index: &'a Path) -> Vec<(&'a str, &'a str)> {
    vec![
        ("SUMMIT_QA_CORPUS_DIR", corpus.to_str().unwrap()),
        ("SUMMIT_QA_INDEX_DIR", index.to_str().unwrap()),
        ("SUMMIT_QA_INGEST__ALLOW_PRIVATE_HOSTS", "true"),
        ("SUMMIT_QA_INGEST__TIMEOUT_SECONDS", "1"),
        ("SUMMIT_QA_INGEST__MAX_PAGE_BYTES", "100000"),
        ("SUMMIT_QA_SEMANTIC__ENABLED", "false"),
    ]
}

/// Every file of the corpus folder and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[derive(serde::Deserialize)]
struct Expected {
    paragraphs: Vec<String>,
    author: String,
    publisher: String,
    published: String,
    script: String,
    #[serde(default)]
    not: Vec<String>,
}

#[test]
fn extraction_keeps_every_article_paragraph_and_nothing_around_it() {
    let expected: BTreeMap<String, Expected> =
        serde_json::from_str(&std::fs::read_to_string(pages_dir().join("expected.json")).unwrap())
            .unwrap();
    assert_eq!(expected.len(), 4);
    let (mut fields, mut right) = (0, 0);
    for (name, want) in &expected {
        let bytes = std::fs::read(pages_dir().join(name)).unwrap();
        let got = page::from_html(&page::decode(&bytes, Some("text/html")), None, name).unwrap();
        assert_eq!(
            got.paragraphs, want.paragraphs,
            "{name}: every paragraph, in order, and only those"
        );
        for unwanted in &want.not {
            assert!(
                !got.text().contains(unwanted.as_str()),
                "{name} kept {unwanted}"
            );
        }
        for (found, wanted) in [
            (&got.author, &want.author),
            (&got.publisher, &want.publisher),
            (&got.published, &want.published),
        ] {
            fields += 1;
            right += usize::from(found.as_deref() == Some(wanted.as_str()));
            assert!(
                found.is_none() || found.as_deref() == Some(wanted.as_str()),
                "{name}: {found:?} invented (expected {wanted})"
            );
        }
        assert_eq!(format!("{:?}", got.script), want.script, "{name}");
    }
    assert_eq!(right, fields, "every metadata field found");
}

#[test]
fn a_page_from_the_server_is_added_cited_with_its_metadata_and_a_link_then_skipped() {
    let corpus = corpus_copy();
    let index = tempfile::tempdir().unwrap();
    let env = env(corpus.path(), index.path());
    let page = url("/article-gbk.html");

    let out = run(&["add", &page], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.starts_with("added 005_"), "{said}");
    assert!(
        USER_AGENT.lock().unwrap().starts_with("summit-qa/"),
        "the bot names itself"
    );
    for known in [
        "李海洋",
        "海洋经济观察",
        "2025-11-06",
        "Hans",
        "4 paragraphs",
    ] {
        assert!(said.contains(known), "{known}: {said}");
    }
    let listed = std::fs::read_to_string(corpus.path().join("articles.toml")).unwrap();
    assert!(
        listed.starts_with("# Metadata for the articles"),
        "comments kept"
    );
    assert!(listed.contains(&format!("url = \"{page}\"")), "{listed}");
    assert!(
        listed.contains("title = \"日美蓝鳍金枪鱼配额磋商在札幌重启\""),
        "{listed}"
    );

    let out = run(&["ask", "--json", "蓝鳍金枪鱼配额磋商在哪里重启？"], &env);
    let reply: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let first = &reply["citations"][0];
    assert!(
        first["article"].as_str().unwrap().starts_with("005_"),
        "{reply}"
    );
    assert_eq!(first["author"], "李海洋");
    assert_eq!(first["publisher"], "海洋经济观察");
    assert_eq!(first["published"], "2025-11-06");
    assert_eq!(first["url"], page.as_str());
    // The link opens the page at the quote: every part of its text fragment is on the page.
    let link = first["link"].as_str().unwrap();
    let (base, directive) = link.split_once("#:~:text=").unwrap();
    assert_eq!(base, page);
    let bytes = std::fs::read(pages_dir().join("article-gbk.html")).unwrap();
    let text = page::decode(&bytes, None);
    for part in directive.split(',') {
        let part = percent_decode_str(part).decode_utf8().unwrap();
        assert!(text.contains(part.as_ref()), "{part} is not on the page");
    }

    let before = snapshot(corpus.path());
    let out = run(&["add", &page], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("already in the corpus as 005_"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("(same URL)"), "{}", stdout(&out));
    assert_eq!(snapshot(corpus.path()), before, "nothing written");
}

#[test]
fn pages_that_cannot_be_added_are_refused_with_the_url_and_the_reason_and_nothing_is_written() {
    let corpus = corpus_copy();
    let index = tempfile::tempdir().unwrap();
    let before = snapshot(corpus.path());
    let mut env = env(corpus.path(), index.path());
    let cases = [
        ("/missing.html", "HTTP 404"),
        ("/photo.png", "image/png, not an HTML page"),
        ("/front-page.html", "no article text found"),
        ("/huge.html", "larger than 100000 bytes"),
        ("/slow.html", "no complete answer within 1 s"),
        ("/redirect/9", "more than 5 redirects"),
    ];
    for (path, reason) in cases {
        let page = url(path);
        let out = run(&["add", &page], &env);
        assert_eq!(out.status.code(), Some(1), "{path}");
        let err = stderr(&out);
        assert!(err.contains(&page) && err.contains(reason), "{path}: {err}");
        assert!(err.contains("nothing was added"), "{err}");
    }
    env.retain(|(k, _)| *k != "SUMMIT_QA_INGEST__ALLOW_PRIVATE_HOSTS");
    let out = run(&["add", &url("/article-utf8.html")], &env);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("loopback, private, link-local or metadata address; set ingest.allow_private_hosts = true"),
        "{}",
        stderr(&out)
    );
    let out = run(&["add", "file:///etc/passwd"], &env);
    assert!(
        stderr(&out).contains("only http and https"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(corpus.path()), before, "the corpus is as it was");
}

#[test]
fn a_redirect_chain_is_followed_and_a_dry_run_writes_nothing() {
    let corpus = corpus_copy();
    let index = tempfile::tempdir().unwrap();
    let before = snapshot(corpus.path());
    let env = env(corpus.path(), index.path());
    let out = run(&["add", "--dry-run", &url("/redirect/3")], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.starts_with("would add 005_"), "{said}");
    assert!(
        said.contains(&format!("from {}", url("/article-utf8.html"))),
        "{said}"
    );
    for known in ["周海峰", "亚太产业周刊", "2025-10-29"] {
        assert!(said.contains(known), "{known}: {said}");
    }
    assert_eq!(snapshot(corpus.path()), before);
}

#[test]
fn a_local_file_is_added_like_a_page_and_overrides_win() {
    let corpus = corpus_copy();
    let index = tempfile::tempdir().unwrap();
    let env = env(corpus.path(), index.path());
    let file = pages_dir().join("article-big5.html");
    let out = run(
        &[
            "add",
            "--dry-run",
            "--publisher",
            "某報",
            file.to_str().unwrap(),
        ],
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    for known in ["陳美玲", "outlet 某報", "2025-10-30", "Hant"] {
        assert!(said.contains(known), "{known}: {said}");
    }
    let out = run(
        &["add", "--published", "30 Oct", file.to_str().unwrap()],
        &env,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("YYYY-MM-DD"), "{}", stderr(&out));
    // The shipped article, as a text file: the same text is already there.
    let seed = corpus.path().join("000_128d67810036f820.txt");
    let copy = index.path().join("copy.txt");
    std::fs::copy(seed, &copy).unwrap();
    let out = run(&["add", copy.to_str().unwrap()], &env);
    assert!(
        stdout(&out).contains("already in the corpus as 000_128d67810036f820 (same text)"),
        "{}",
        stdout(&out)
    );
}

/// A config adding to `corpus` with its index in `index`: pages on 127.0.0.1 allowed, words
/// alone.
fn config(corpus: &Path, index: &Path) -> summit_qa::config::Config {
    let mut config = summit_qa::config::Config {
        corpus_dir: corpus.to_path_buf(),
        index_dir: index.to_path_buf(),
        ..Default::default()
    };
    config.ingest.allow_private_hosts = true;
    config.semantic.enabled = summit_qa::config::Switch::Fixed(false);
    config
}

fn feeds_of(config: &summit_qa::config::Config) -> summit_qa::add::feeds::Feeds {
    summit_qa::add::feeds::Feeds::new(
        summit_qa::add::Fetcher::of(config),
        &config.corpus_dir,
        &config.index_dir,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_feed_adds_its_entries_its_idle_poll_costs_one_get_and_its_second_poll_adds_the_new_one()
{
    for name in ["news.rss", "news.atom", "news.json"] {
        let corpus = corpus_copy();
        let index = tempfile::tempdir().unwrap();
        let config = config(corpus.path(), index.path());
        let feed = url(&format!("/feeds/{name}"));
        let mut feeds = feeds_of(&config);

        let first = feeds.poll_all(std::slice::from_ref(&feed)).await.remove(0);
        assert!(first.changed, "{name}");
        assert_eq!(first.added.len(), 2, "{name}: {first:?}");
        assert_eq!(first.errors.len(), 1, "{name}: {first:?}");
        assert!(
            first.errors[0].contains("/private/draft.html")
                && first.errors[0].contains("robots.txt disallows"),
            "{first:?}"
        );
        let listed = std::fs::read_to_string(corpus.path().join("articles.toml")).unwrap();
        assert!(
            listed.contains("陳美玲") && listed.contains("周海峰"),
            "{listed}"
        );

        let gets = feed_gets(name);
        let corpus_before = snapshot(corpus.path());
        let idle = feeds.poll_all(std::slice::from_ref(&feed)).await.remove(0);
        assert!(!idle.changed && idle.added.is_empty(), "{idle:?}");
        assert_eq!(
            feed_gets(name),
            gets + 1,
            "an idle poll is one conditional GET"
        );
        assert_eq!(snapshot(corpus.path()), corpus_before);

        publish(name);
        let second = feeds.poll_all(std::slice::from_ref(&feed)).await.remove(0);
        assert_eq!(second.added.len(), 1, "{name}: {second:?}");
        assert_eq!(second.known, 2, "{second:?}");
        let status = &feeds.status()[&feed];
        assert_eq!(status.added, 3);
        assert_eq!(status.last_added, second.added);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_from_a_feed_entry_published_after_it_started() {
    let corpus = corpus_copy();
    let index = tempfile::tempdir().unwrap();
    let mut config = config(corpus.path(), index.path());
    config.ingest.feed_poll_seconds = 0.3;
    config.feed = vec![summit_qa::config::FeedConfig {
        url: url("/feeds/serve.rss"),
    }];
    summit_qa::engine::build(&config, &mut |_: &str, _: usize, _: usize| {}).unwrap();
    let engine = std::sync::Arc::new(summit_qa::engine::Engine::load(&config).unwrap());
    let question = "日本農協為什麼反對進口美國大米？";
    let cites_rice = |engine: &summit_qa::engine::Engine| {
        let answer = engine.ask(question, None).unwrap();
        answer
            .citations
            .iter()
            .any(|c| c.author.as_deref() == Some("林志遠"))
    };
    let following = tokio::spawn(summit_qa::app::follow_feeds(config.clone(), engine.clone()));
    // The first poll adds the two entries listed at start.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while engine.articles().len() < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first entries were not indexed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!cites_rice(&engine));
    publish("serve.rss");
    while !cites_rice(&engine) {
        assert!(
            std::time::Instant::now() < deadline,
            "the new entry was not answered from"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    following.abort();
}

#[test]
fn the_feeds_command_polls_and_lists_each_feed() {
    let corpus = corpus_copy();
    let index = tempfile::tempdir().unwrap();
    let mut env = env(corpus.path(), index.path());
    let feeds = format!("[{{url=\"{}\"}}]", url("/feeds/cli.rss"));
    env.push(("SUMMIT_QA_FEED", &feeds));
    let out = run(&["feeds"], &env);
    assert!(
        stdout(&out).contains("never polled"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let out = run(&["feeds", "--poll"], &env);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an entry was refused: {}",
        stderr(&out)
    );
    let said = stdout(&out);
    assert!(said.contains("2 entries added in all"), "{said}");
    assert!(
        said.contains("error: ") && said.contains("robots.txt"),
        "{said}"
    );
    assert!(said.contains("index "), "indexed: {said}");
}
