//! The `summit-qa` binary: parse the command line, set up logging and config, run a command.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use summit_qa::config::LogFormat;
use summit_qa::{app, console, engine, ops, render, telegram, Config, Engine};

/// Shown under `--help`.
const EXAMPLES: &str = "Examples:
  summit-qa ask 日本承诺对美国投资多少？
  summit-qa ask who is takaichi
  summit-qa ask --json \"美日稀土協議的內容是什麼？\"
  echo \"高市送了特朗普什么礼物？\" | summit-qa ask
  summit-qa ask --batch questions.jsonl
  summit-qa chat
  TELOXIDE_TOKEN=123456:ABC… summit-qa serve";

/// Answers questions about the 28 October 2025 Trump–Takaichi summit from indexed articles,
/// quoting their sentences and citing each source.
#[derive(Parser)]
#[command(version, about, after_help = EXAMPLES)]
struct Cli {
    /// Config file (TOML). Default: config/default.toml when it exists, else built-in defaults.
    #[arg(long, global = true, env = "SUMMIT_QA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Answer one question (or a JSONL batch) and print the answer.
    Ask {
        /// The question, in Simplified or Traditional Chinese or English; quotes are optional
        /// (`ask who is takaichi`). Without it, the question is read from standard input when
        /// that is not a terminal (`echo "…" | summit-qa ask`).
        question: Vec<String>,
        /// Print one JSON object (the contract in docs/json-contract.md).
        #[arg(long)]
        json: bool,
        /// Read JSONL objects with `q` (and optional `id`) and print one JSON line each.
        #[arg(long, value_name = "FILE", conflicts_with = "question")]
        batch: Option<PathBuf>,
    },
    /// Chat in the console over the same engine (no Telegram token needed).
    Chat,
    /// Validate config and corpus, and say what was found.
    Check,
    /// Build or update the search index (index_dir) from the corpus: only new and changed
    /// articles are indexed; bad files are named and skipped (exit status 1).
    Index,
    /// Run the Telegram bot (long polling, or webhook mode with --webhook-url). The token comes
    /// from TELOXIDE_TOKEN (or telegram.token in the config).
    Serve {
        /// Bot API server to use instead of https://api.telegram.org (self-hosted, or a fake).
        #[arg(long, env = "TELOXIDE_API_URL", value_name = "URL")]
        api_url: Option<url::Url>,
        /// Webhook mode: the public HTTPS URL Telegram posts updates to (overrides
        /// telegram.webhook_url). Its path is served on http.listen.
        #[arg(long, value_name = "URL")]
        webhook_url: Option<String>,
        /// Try the bot without Telegram or a token: a stand-in Bot API on 127.0.0.1 takes every
        /// call, and the replies the bot would send are printed; post updates to the webhook
        /// with the curl command printed at start.
        #[arg(long, conflicts_with_all = ["api_url", "webhook_url"])]
        dry_run: bool,
    },
    /// Add articles to the corpus from web pages or local .html/.txt files, then index them:
    /// the text and what is known of it (title, author, outlet, date) are extracted; a page
    /// the corpus has already (same URL or same text) is skipped.
    Add {
        /// URLs (http, https) or files (.html, .htm, .txt).
        #[arg(required = true, value_name = "URL|FILE")]
        pages: Vec<String>,
        /// Print what would be added; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The article's id instead of a new one (one page only).
        #[arg(long)]
        id: Option<String>,
        /// The headline instead of the page's.
        #[arg(long)]
        title: Option<String>,
        /// The author instead of the one found.
        #[arg(long)]
        author: Option<String>,
        /// The outlet instead of the one found.
        #[arg(long)]
        publisher: Option<String>,
        /// The publication date (YYYY-MM-DD) instead of the one found.
        #[arg(long, value_name = "YYYY-MM-DD")]
        published: Option<String>,
        /// The script (Hans or Hant) instead of the one detected.
        #[arg(long, value_parser = parse_script)]
        script: Option<summit_qa::corpus::Script>,
    },
    /// List the configured feeds ([[feed]]) with their last poll, the entries they added and
    /// their errors; with --poll, poll them now and index what they add.
    Feeds {
        /// Poll every feed now (what `serve` does every ingest.feed_poll_seconds).
        #[arg(long)]
        poll: bool,
    },
    /// The recorded questions and votes (what /stats and /feedback read).
    Feedback {
        #[command(subcommand)]
        action: FeedbackAction,
    },
    /// Check that a running `serve` answers on /healthz (exit 0) or not (exit 1); for
    /// container health checks.
    Health,
    /// Fit the answer decision (claim, closest passages or refusal, and the fusion of the
    /// rankings) on labeled question sets, print leave-one-set-out cross-validated numbers,
    /// and write it to semantic.decision (docs/quality.md).
    Calibrate {
        /// Labeled JSONL sets, one fold each (default: tests/fixtures/*.jsonl except the
        /// held-out set).
        sets: Vec<PathBuf>,
        /// A labeled set kept out of every fit and scored once with the final decision.
        #[arg(
            long,
            value_name = "FILE",
            default_value = "tests/fixtures/holdout.jsonl"
        )]
        held_out: PathBuf,
        /// Most wrong claims, as a share of the questions (cross-validated).
        #[arg(long, default_value_t = 0.04)]
        max_wrong: f32,
        /// Most general-knowledge and small-talk questions shown passages, as a share of them.
        #[arg(long, default_value_t = 0.05)]
        max_general_shown: f32,
        /// Also write each question's features, labels and cross-validated probabilities here
        /// (JSONL), to inspect the fit.
        #[arg(long, value_name = "FILE")]
        rows: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum FeedbackAction {
    /// Print the recorded questions as question-set lines (q, lang, reply, citations, vote,
    /// asked) to label and feed to `calibrate` (docs/operations.md).
    Export {
        /// Only questions asked on or after this day (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        since: Option<String>,
    },
}

/// Exit status for a missing or malformed token (and other setup errors of `serve`).
const EXIT_SETUP: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // The reader went away (`summit-qa ask … | head -1`): not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Logs go to stderr, as text or JSON lines; RUST_LOG sets the level (default: info for
/// this crate while serving, warnings otherwise). teloxide's `log` records are included.
fn init_logging(format: LogFormat, serving: bool) {
    let default = if serving {
        "summit_qa=info,warn"
    } else {
        "warn"
    };
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(UnreadableUpdates);
    match format {
        LogFormat::Text => registry.with(lines).init(),
        LogFormat::Json => registry.with(lines.json()).init(),
    }
}

/// teloxide logs an update it cannot parse at ERROR, with the update's raw JSON (user text)
/// and "This is a bug in teloxide-core": such a record is replaced by one WARN line without
/// the update.
struct UnreadableUpdates;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for UnreadableUpdates {
    fn event_enabled(
        &self,
        event: &tracing::Event<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        use tracing_log::NormalizeEvent;
        let unreadable = event.normalized_metadata().is_some_and(|m| {
            *m.level() == tracing::Level::ERROR
                && matches!(
                    m.target(),
                    "teloxide::dispatching::dispatcher"
                        | "teloxide::update_listeners::webhooks::axum"
                )
        });
        if unreadable {
            tracing::warn!("skipped an update from Telegram that teloxide cannot read (its content is not logged)");
        }
        !unreadable
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut config = load_config(cli.config.as_deref())?;
    init_logging(
        config.log.format,
        matches!(cli.command, Command::Serve { .. }),
    );
    let ignored = summit_qa::config::ignored_variables();
    if !ignored.is_empty() {
        tracing::info!(
            ?ignored,
            "ignored: Kubernetes service variables that share the SUMMIT_QA_ prefix"
        );
    }
    if let Command::Health = cli.command {
        return Ok(health(&config));
    }
    if let Command::Serve {
        webhook_url: Some(url),
        ..
    } = &cli.command
    {
        config.telegram.webhook_url = url.clone();
        config.validate()?;
    }
    let dry_run = matches!(cli.command, Command::Serve { dry_run: true, .. });
    if dry_run {
        config.telegram.webhook_url = telegram::dry_run::WEBHOOK_URL.into();
        config.telegram.webhook_secret = summit_qa::config::Secret::new(telegram::dry_run::SECRET);
    }

    if let Command::Serve { dry_run, .. } = cli.command {
        let checked = if dry_run {
            settings_checks(&config)
        } else {
            serve_checks(&config)
        };
        if let Err(problem) = checked {
            eprintln!("error: {problem}");
            return Ok(ExitCode::from(EXIT_SETUP));
        }
    }
    match cli.command {
        Command::Check => return check(&config),
        Command::Index => return index(&config),
        Command::Add { .. } => return add(&config, cli.command),
        Command::Feeds { poll } => return feeds(&config, poll),
        Command::Feedback {
            action: FeedbackAction::Export { since },
        } => return export(&config, since.as_deref()),
        _ => prepare_index(&config)?,
    }
    let started = Instant::now();
    let engine = Engine::load(&config)?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "engine loaded"
    );
    match cli.command {
        Command::Ask {
            question,
            json,
            batch: Some(file),
        } => {
            let _ = (question, json);
            batch(&engine, &file)
        }
        Command::Ask { question, json, .. } => {
            ask(&engine, &question_of(question)?, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Chat => {
            console::run_interactive(&engine)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            api_url, dry_run, ..
        } => serve(engine, &config, api_url, dry_run),
        Command::Calibrate {
            sets,
            held_out,
            max_wrong,
            max_general_shown,
            rows,
        } => calibrate(
            rows.as_deref(),
            &engine,
            &config,
            summit_qa::calibrate::Options {
                sets: if sets.is_empty() {
                    fixture_sets(&held_out)?
                } else {
                    sets
                },
                held_out: held_out.exists().then_some(held_out).into_iter().collect(),
                max_wrong,
                max_general_shown,
                exemplars: config
                    .semantic
                    .model
                    .parent()
                    .unwrap_or(Path::new("."))
                    .join("exemplars"),
            },
        ),
        Command::Health
        | Command::Check
        | Command::Index
        | Command::Add { .. }
        | Command::Feeds { .. }
        | Command::Feedback { .. } => {
            unreachable!("handled before loading the engine")
        }
    }
}

/// Probes /healthz of a running `serve` on the configured address.
fn health(config: &Config) -> ExitCode {
    let mut addr = config.http.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let probe = async { ops::probe(addr, std::time::Duration::from_secs(3)).await };
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(probe));
    match result {
        Ok(()) => {
            let _ = writeln!(std::io::stdout(), "healthy: http://{addr}/healthz");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the Telegram bot until SIGINT or SIGTERM; exit status 2 without a usable token.
fn serve(
    engine: Engine,
    config: &Config,
    api_url: Option<url::Url>,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let token = if dry_run {
        telegram::dry_run::TOKEN.to_string()
    } else {
        telegram::token(config.telegram.token.expose()).map_err(anyhow::Error::msg)?
    };
    let settings = telegram::Settings::from_config(config)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let api_url = if dry_run {
        let stand_in = runtime.block_on(telegram::dry_run::start())?;
        eprintln!(
            "dry run: nothing is sent to Telegram; the replies the bot would send are printed here. Ask a question with:\n  {}",
            telegram::dry_run::recipe(config.http.listen, "日本承诺对美国投资多少？")
        );
        Some(stand_in)
    } else {
        api_url
    };
    let bot = telegram::bot(&token, api_url, &settings);
    let listen = config.http.listen;
    runtime
        .block_on(async {
            let http = app::bind(listen).await?;
            let engine = std::sync::Arc::new(engine);
            let feeds = (!config.feed.is_empty())
                .then(|| tokio::spawn(app::follow_feeds(config.clone(), engine.clone())));
            let _stop_feeds = AbortOnDrop(feeds);
            app::run(
                bot,
                engine,
                settings,
                ops::Ops::default(),
                http,
                app::shutdown_signal(),
            )
            .await
            .map_err(anyhow::Error::from)
        })
        // teloxide hides the token in network errors; this is a second guard.
        .map_err(|e| anyhow::anyhow!("{}", e.to_string().replace(&token, "<token>")))?;
    Ok(ExitCode::SUCCESS)
}

/// Stops a background task when dropped.
struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

fn load_config(explicit: Option<&Path>) -> anyhow::Result<Config> {
    let default = Path::new("config/default.toml");
    let file = explicit.or_else(|| default.is_file().then_some(default));
    Ok(Config::load(file)?)
}

/// The question given as words on the command line, or else read from standard input when
/// that is not a terminal.
fn question_of(words: Vec<String>) -> anyhow::Result<String> {
    use std::io::{IsTerminal, Read};
    if !words.is_empty() {
        return Ok(words.join(" "));
    }
    if std::io::stdin().is_terminal() {
        bail!("no question given: summit-qa ask 日本承诺对美国投资多少？ (or pipe one in)");
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| anyhow::anyhow!("the question on standard input cannot be read: {e}"))?;
    Ok(text)
}

fn ask(engine: &Engine, question: &str, json: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let answer = engine.ask(question, None)?;
    let took_us = started.elapsed().as_micros() as u64;
    let mut out = std::io::stdout().lock();
    if json {
        let object = render::json(&answer, None, took_us);
        writeln!(out, "{}", serde_json::to_string(&object)?)?;
    } else {
        writeln!(out, "{}", render::console(&answer))?;
    }
    Ok(())
}

/// One JSON line per input line, in order; non-zero exit status when a line was bad.
fn batch(engine: &Engine, file: &Path) -> anyhow::Result<ExitCode> {
    let reader: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f =
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        Box::new(BufReader::new(f))
    };
    let source = file.display().to_string();
    let failed = summit_qa::batch::run(
        engine,
        &source,
        reader,
        std::io::stdout().lock(),
        std::io::stderr(),
    )?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What `serve` needs beyond the config's own validation: a token of the right shape, a
/// usable Redis URL and webhook settings; checked before the engine loads, and by `check`.
fn serve_checks(config: &Config) -> Result<(), String> {
    telegram::token(config.telegram.token.expose())?;
    settings_checks(config)
}

/// The checks of [`serve_checks`] that do not need the token.
fn settings_checks(config: &Config) -> Result<(), String> {
    telegram::Settings::from_config(config).map_err(|e| e.to_string())?;
    if let Some(url) = config.redis.url.expose() {
        telegram::state::redis_address(url)?;
    }
    Ok(())
}

/// Lines for `check` on what `serve` would use: the token, Redis.
fn serve_report(config: &Config) -> Result<String, String> {
    settings_checks(config)?;
    let token = match telegram::token(config.telegram.token.expose()) {
        Ok(token) => format!(
            "token: set (bot {})",
            token.split(':').next().unwrap_or("?")
        ),
        Err(problem) if problem.contains("missing") => {
            "token: not set (serve needs TELOXIDE_TOKEN; ask and chat do not)".to_string()
        }
        Err(problem) => return Err(problem),
    };
    let redis = match config.redis.url.expose() {
        Some(url) => format!(
            "shared state: Redis at {}",
            telegram::state::redis_address(url)?
        ),
        None => "shared state: in this process (redis.url not set)".to_string(),
    };
    Ok(format!("{token}\n{redis}"))
}

/// Validates the config, what `serve` would use, and the corpus strictly (the first bad file
/// is an error), and reports them; exit status 2 when `serve` could not start.
fn check(config: &Config) -> anyhow::Result<ExitCode> {
    let serving = match serve_report(config) {
        Ok(report) => report,
        Err(problem) => {
            eprintln!("error: {problem}");
            return Ok(ExitCode::from(EXIT_SETUP));
        }
    };
    let articles = summit_qa::corpus::load(&config.corpus_dir)?;
    summit_qa::lexicon::Glossary::load(&config.corpus_dir)?;
    let meaning = match engine::model_for(&config.semantic, &config.corpus_dir)? {
        Some(model) => format!(
            "meaning: on, model {} (checksum {})\n{}",
            config.semantic.model.display(),
            model.checksum,
            decision_report(config, &model.checksum)
        ),
        None => "meaning: off, answers use words alone (semantic.enabled)".to_string(),
    };
    writeln!(
        std::io::stdout().lock(),
        "{}\n{meaning}\n{serving}",
        console::report(&articles, config)
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The labeled sets in tests/fixtures/ but `held_out`.
fn fixture_sets(held_out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = Path::new("tests/fixtures");
    let mut sets: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| {
            format!(
                "cannot read {}: run from the repository folder, or name the labeled sets",
                dir.display()
            )
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p != held_out)
        .collect();
    sets.sort();
    Ok(sets)
}

/// The `calibrate` command: fits the decision, prints the report, writes the file.
fn calibrate(
    rows: Option<&Path>,
    engine: &Engine,
    config: &Config,
    options: summit_qa::calibrate::Options,
) -> anyhow::Result<ExitCode> {
    let Some(model) = engine.model_checksum() else {
        bail!(
            "calibrate needs the embedding model: set semantic.enabled = true and semantic.model"
        );
    };
    let started = Instant::now();
    let mut progress = |n: usize| {
        if n.is_multiple_of(100) {
            eprint!("\r{n} questions");
        }
    };
    let calibrated = summit_qa::calibrate::calibrate(engine, model, &options, &mut progress)?;
    eprintln!("\r{:.1} s", started.elapsed().as_secs_f64());
    let path = &config.semantic.decision;
    calibrated.decision.write(path)?;
    if let Some(rows) = rows {
        let lines: String = calibrated.rows.iter().map(|r| format!("{r}\n")).collect();
        std::fs::write(rows, lines).with_context(|| format!("cannot write {}", rows.display()))?;
    }
    writeln!(
        std::io::stdout().lock(),
        "{}\nwrote {}",
        calibrated.report,
        path.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Where the answer decision comes from, for `check`: the file, the sets it was fitted on
/// and its thresholds, or why it cannot be used.
fn decision_report(config: &Config, model: &str) -> String {
    let path = &config.semantic.decision;
    match summit_qa::retrieve::decision::Decision::load(path, model) {
        Ok(d) => format!(
            "decision: {}, fitted on {} ({} questions); claim at P ≥ {:.3}, closest passages at P ≥ {:.3}; cross-validated: {}",
            path.display(),
            d.fitted_on
                .iter()
                .map(|s| format!("{} {}", s.file, s.checksum))
                .collect::<Vec<_>>()
                .join(", "),
            d.fitted_on.iter().map(|s| s.questions).sum::<usize>(),
            d.answer_at,
            d.closest_at,
            d.cross_validated.split_whitespace().collect::<Vec<_>>().join(" "),
        ),
        Err(e) => format!("decision: none, the thresholds in [answer] decide ({e})"),
    }
}

/// The `index` command: updates the index, names every skipped file, prints a summary;
/// exit status 1 when a file was skipped.
fn index(config: &Config) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let report = engine::build(config, &mut console::progress())?;
    let problems = console::problems(&report);
    eprint!("{problems}");
    writeln!(
        std::io::stdout().lock(),
        "index {}: {} ({:.1} s)",
        config.index_dir.display(),
        report.summary(),
        started.elapsed().as_secs_f64()
    )?;
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `summit-qa feeds`: each feed's status (after polling it, with --poll).
fn feeds(config: &Config, poll: bool) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if config.feed.is_empty() {
        writeln!(out, "no feeds: add [[feed]] url = \"…\" to the config")?;
        return Ok(ExitCode::SUCCESS);
    }
    let urls: Vec<String> = config.feed.iter().map(|f| f.url.clone()).collect();
    let mut feeds = summit_qa::add::feeds::Feeds::new(
        summit_qa::add::Fetcher::of(config),
        &config.corpus_dir,
        &config.index_dir,
    );
    let mut failed = false;
    if poll {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let polls = runtime.block_on(feeds.poll_all(&urls));
        failed = polls.iter().any(|p| !p.errors.is_empty());
        if polls.iter().any(|p| !p.added.is_empty()) {
            let report = engine::build(config, &mut console::progress())?;
            writeln!(
                out,
                "index {}: {}",
                config.index_dir.display(),
                report.summary()
            )?;
        }
    }
    let status = feeds.status();
    for url in &urls {
        writeln!(out, "{}", console::feed_status(url, status.get(url)))?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `summit-qa feedback export`: the recorded questions as JSONL on stdout.
fn export(config: &Config, since: Option<&str>) -> anyhow::Result<ExitCode> {
    let from = match since {
        None => 0,
        Some(day) => summit_qa::journal::report::day_start(day)
            .ok_or_else(|| anyhow::anyhow!("--since {day:?} is not a date: write YYYY-MM-DD"))?,
    };
    // Records in Redis are the bot's: its id is the token's number.
    let token = std::env::var("TELOXIDE_TOKEN")
        .ok()
        .or_else(|| config.telegram.token.expose().map(str::to_string))
        .unwrap_or_default();
    let bot_id = token.split(':').next().unwrap_or_default();
    if config.redis.url.expose().is_some() && bot_id.is_empty() {
        anyhow::bail!("the records in Redis are kept per bot: set TELOXIDE_TOKEN (or telegram.token) to the bot's token");
    }
    let journal = summit_qa::journal::Journal::open(config, bot_id)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let records = runtime.block_on(journal.since(from))?;
    let mut out = std::io::stdout().lock();
    for line in summit_qa::journal::report::export(&records) {
        writeln!(out, "{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_script(value: &str) -> Result<summit_qa::corpus::Script, String> {
    match value {
        "Hans" | "hans" => Ok(summit_qa::corpus::Script::Hans),
        "Hant" | "hant" => Ok(summit_qa::corpus::Script::Hant),
        _ => Err("write Hans (Simplified) or Hant (Traditional)".into()),
    }
}

/// `summit-qa add`: each page added (or skipped, or refused with its reason), then the index
/// brought up to date once. Exit 1 when a page was refused.
fn add(config: &Config, command: Command) -> anyhow::Result<ExitCode> {
    let Command::Add {
        pages,
        dry_run,
        id,
        title,
        author,
        publisher,
        published,
        script,
    } = command
    else {
        unreachable!("called for add only")
    };
    if id.is_some() && pages.len() > 1 {
        anyhow::bail!("--id names one article: give one page with it");
    }
    let overrides = summit_qa::add::Overrides {
        id,
        title,
        author,
        publisher,
        published,
        script,
    };
    let fetcher = summit_qa::add::Fetcher::of(config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut out = std::io::stdout().lock();
    let (mut added, mut refused) = (0, 0);
    for page in &pages {
        let outcome = runtime.block_on(summit_qa::add::add(
            &fetcher,
            &config.corpus_dir,
            page,
            &overrides,
            dry_run,
        ));
        match outcome {
            Ok(outcome) => {
                added += matches!(outcome, summit_qa::add::Outcome::Added { .. }) as usize;
                writeln!(out, "{}", console::added(&outcome, dry_run))?;
            }
            Err(e) => {
                refused += 1;
                eprintln!("error: {e}");
            }
        }
    }
    if added > 0 && !dry_run {
        let started = Instant::now();
        let report = engine::build(config, &mut console::progress())?;
        eprint!("{}", console::problems(&report));
        writeln!(
            out,
            "index {}: {} ({:.1} s)",
            config.index_dir.display(),
            report.summary(),
            started.elapsed().as_secs_f64()
        )?;
    }
    Ok(if refused > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Before `ask`, `chat` and `serve`: builds or updates the index when it is missing or
/// older than the corpus, and says so on stderr.
fn prepare_index(config: &Config) -> anyhow::Result<()> {
    let started = Instant::now();
    match engine::prepare(config, &mut console::progress())? {
        engine::Prepared::Fresh => {}
        engine::Prepared::Updated(report) => {
            eprint!("{}", console::problems(&report));
            eprintln!(
                "indexed {} into {} (it was missing or older than the corpus): {} ({:.1} s)",
                config.corpus_dir.display(),
                config.index_dir.display(),
                report.summary(),
                started.elapsed().as_secs_f64()
            );
        }
        engine::Prepared::Outdated(e) => eprintln!(
            "warning: the index in {} could not be brought up to date with the corpus ({e}); answering from it as it is",
            config.index_dir.display()
        ),
    }
    Ok(())
}
