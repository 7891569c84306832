//! Feeds (RSS 2.0, Atom, JSON Feed; read with feed-rs): each `[[feed]]` polled with a
//! conditional GET (ETag, Last-Modified), every entry whose page the corpus lacks added through
//! the same path as `add`, robots.txt honoured; what each poll did is kept in
//! `index_dir/feeds.json` for `summit-qa feeds`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::fetch::{Fetcher, Validators};
use super::{admit, read, store, AddError, Outcome, Overrides};

/// The file in `index_dir` that keeps each feed's last poll.
pub const STATE_FILE: &str = "feeds.json";

/// How long a site's robots.txt is trusted before it is read again.
const ROBOTS_TTL: Duration = Duration::from_secs(24 * 3600);

/// What is known of one feed's polls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedStatus {
    /// When it was last polled (seconds since 1970).
    pub last_poll: Option<u64>,
    /// When a poll last found it changed.
    pub last_changed: Option<u64>,
    /// The validators of the version last read.
    pub validators: Validators,
    /// Entries it has added to the corpus, in all.
    pub added: usize,
    /// The ids of the articles its last change added.
    pub last_added: Vec<String>,
    /// What went wrong in the last poll (the feed, or its entries), if anything.
    pub errors: Vec<String>,
}

/// What one poll of one feed did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Poll {
    /// The feed's URL.
    pub feed: String,
    /// False when the server said it had not changed (HTTP 304): nothing else was fetched.
    pub changed: bool,
    /// Ids of the articles added.
    pub added: Vec<String>,
    /// Entries already in the corpus.
    pub known: usize,
    /// What went wrong.
    pub errors: Vec<String>,
}

/// The feeds of one corpus, polled together; keeps robots.txt answers between polls.
pub struct Feeds {
    fetcher: Fetcher,
    corpus_dir: PathBuf,
    state_path: PathBuf,
    robots: HashMap<String, (Instant, Robots)>,
}

impl Feeds {
    /// Feeds adding to `corpus_dir`, their state kept in `index_dir`.
    pub fn new(fetcher: Fetcher, corpus_dir: &Path, index_dir: &Path) -> Feeds {
        Feeds {
            fetcher,
            corpus_dir: corpus_dir.to_path_buf(),
            state_path: index_dir.join(STATE_FILE),
            robots: HashMap::new(),
        }
    }

    /// Each feed's status as last saved (feeds never polled have none).
    pub fn status(&self) -> BTreeMap<String, FeedStatus> {
        std::fs::read_to_string(&self.state_path)
            .ok()
            .and_then(|raw| serde_json::from_str(&raw).ok())
            .unwrap_or_default()
    }

    /// Polls every feed in `urls` once, adds their new entries, and saves their status.
    pub async fn poll_all(&mut self, urls: &[String]) -> Vec<Poll> {
        let mut all = self.status();
        let mut polls = Vec::new();
        for url in urls {
            let status = all.entry(url.clone()).or_default();
            let poll = self.poll(url, status).await;
            if poll.changed {
                status.last_changed = status.last_poll;
                status.last_added = poll.added.clone();
            }
            polls.push(poll);
        }
        if let Err(e) = save(&self.state_path, &all) {
            tracing::warn!(file = %self.state_path.display(), error = %e, "feed status not saved");
        }
        polls
    }

    async fn poll(&mut self, url: &str, status: &mut FeedStatus) -> Poll {
        let mut poll = Poll {
            feed: url.to_string(),
            ..Poll::default()
        };
        status.last_poll = Some(now());
        match self.entries(url, status).await {
            Ok(None) => {}
            Ok(Some(entries)) => {
                poll.changed = true;
                for entry in entries {
                    match self.add_entry(&entry).await {
                        Ok(Some(id)) => poll.added.push(id),
                        Ok(None) => poll.known += 1,
                        Err(e) => poll.errors.push(e.to_string()),
                    }
                }
            }
            Err(e) => poll.errors.push(e.to_string()),
        }
        status.added += poll.added.len();
        status.errors = poll.errors.clone();
        poll
    }

    /// The feed's entries, oldest first, or `None` when it has not changed.
    async fn entries(
        &mut self,
        url: &str,
        status: &mut FeedStatus,
    ) -> Result<Option<Vec<Entry>>, AddError> {
        self.allowed(url).await?;
        let Some(fetched) = self.fetcher.get_if_changed(url, &status.validators).await? else {
            return Ok(None);
        };
        let feed =
            feed_rs::parser::parse(fetched.body.as_slice()).map_err(|e| AddError::Refused {
                page: url.to_string(),
                reason: format!("not an RSS, Atom or JSON feed ({e})"),
            })?;
        status.validators = fetched.validators;
        let mut entries: Vec<Entry> = feed
            .entries
            .into_iter()
            .filter_map(|e| Entry::of(e, &fetched.url))
            .collect();
        entries.sort_by_key(|e| e.published.clone());
        Ok(Some(entries))
    }

    /// Adds one entry's page unless the corpus has its URL; its id when added.
    async fn add_entry(&mut self, entry: &Entry) -> Result<Option<String>, AddError> {
        if store::has_url(&self.corpus_dir, &entry.link)? {
            return Ok(None);
        }
        self.allowed(&entry.link).await?;
        let (mut page, url) = read(&self.fetcher, &entry.link).await?;
        page.title = page.title.or_else(|| entry.title.clone());
        page.author = page.author.or_else(|| entry.author.clone());
        page.published = page.published.or_else(|| entry.published.clone());
        let outcome = admit(
            &self.corpus_dir,
            &entry.link,
            page,
            url,
            &Overrides::default(),
            false,
        )?;
        Ok(match outcome {
            Outcome::Added { meta, .. } => Some(meta.id),
            Outcome::Skipped { .. } => None,
        })
    }

    /// Refuses `url` when its site's robots.txt disallows it for this bot.
    async fn allowed(&mut self, url: &str) -> Result<(), AddError> {
        let parsed = super::fetch::checked_url(url)?;
        let site = parsed.origin().ascii_serialization();
        let fresh = self
            .robots
            .get(&site)
            .is_some_and(|(read, _)| read.elapsed() < ROBOTS_TTL);
        if !fresh {
            // A site without a readable robots.txt allows everything.
            let robots = match self.fetcher.get(&format!("{site}/robots.txt")).await {
                Ok(f) => Robots::parse(&String::from_utf8_lossy(&f.body)),
                Err(_) => Robots::default(),
            };
            self.robots.insert(site.clone(), (Instant::now(), robots));
        }
        let robots = &self.robots[&site].1;
        if robots.allows(parsed.path()) {
            Ok(())
        } else {
            Err(AddError::Refused {
                page: url.to_string(),
                reason: "the site's robots.txt disallows it for summit-qa".into(),
            })
        }
    }
}

/// One feed entry: its page and what the feed says of it.
#[derive(Debug, Clone)]
struct Entry {
    link: String,
    title: Option<String>,
    author: Option<String>,
    published: Option<String>,
}

impl Entry {
    fn of(entry: feed_rs::model::Entry, feed_url: &url::Url) -> Option<Entry> {
        let href = entry
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .or(entry.links.first())?
            .href
            .clone();
        let link = feed_url.join(&href).ok()?.to_string();
        Some(Entry {
            link,
            title: entry.title.map(|t| t.content.trim().to_string()),
            author: entry
                .authors
                .iter()
                .find_map(|p| p.name.as_deref())
                .map(|n| n.trim().to_string()),
            published: entry
                .published
                .or(entry.updated)
                .map(|d| d.format("%Y-%m-%d").to_string()),
        })
    }
}

/// A site's robots.txt rules for this bot: the group naming `summit-qa`, else the `*` group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Robots {
    /// (allowed, path prefix).
    rules: Vec<(bool, String)>,
}

impl Robots {
    /// The rules of `text` that apply to summit-qa.
    pub fn parse(text: &str) -> Robots {
        let mut ours: Option<Vec<(bool, String)>> = None;
        let mut anyone: Option<Vec<(bool, String)>> = None;
        let mut agents: Vec<String> = Vec::new();
        let mut rules: Vec<(bool, String)> = Vec::new();
        let mut in_rules = false;
        let mut close = |agents: &mut Vec<String>, rules: &mut Vec<(bool, String)>| {
            if agents
                .iter()
                .any(|a| "summit-qa".contains(a.as_str()) && a != "*")
            {
                ours.get_or_insert_with(Vec::new).extend(rules.clone());
            } else if agents.iter().any(|a| a == "*") {
                anyone.get_or_insert_with(Vec::new).extend(rules.clone());
            }
            agents.clear();
            rules.clear();
        };
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
            match key.as_str() {
                "user-agent" => {
                    if in_rules {
                        close(&mut agents, &mut rules);
                        in_rules = false;
                    }
                    agents.push(value.to_ascii_lowercase());
                }
                "allow" | "disallow" => {
                    in_rules = true;
                    let prefix = value.split('*').next().unwrap_or("").trim_end_matches('$');
                    if !prefix.is_empty() {
                        rules.push((key == "allow", prefix.to_string()));
                    }
                }
                _ => {}
            }
        }
        close(&mut agents, &mut rules);
        Robots {
            rules: ours.or(anyone).unwrap_or_default(),
        }
    }

    /// Whether `path` may be fetched: the longest matching rule decides; none allows.
    pub fn allows(&self, path: &str) -> bool {
        self.rules
            .iter()
            .filter(|(_, prefix)| path.starts_with(prefix.as_str()))
            .max_by_key(|(allow, prefix)| (prefix.len(), *allow))
            .is_none_or(|(allow, _)| *allow)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn save(path: &Path, all: &BTreeMap<String, FeedStatus>) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension("json.saving");
    std::fs::write(&temporary, serde_json::to_string_pretty(all)?)?;
    std::fs::rename(temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robots_rules_for_this_bot_win_over_everyone_elses_and_the_longest_match_decides() {
        let robots = Robots::parse(
            "User-agent: *\nDisallow: /\n\nUser-agent: summit-qa\nDisallow: /private/\nAllow: /private/news/\n",
        );
        assert!(robots.allows("/news/1.html"));
        assert!(!robots.allows("/private/x.html"));
        assert!(robots.allows("/private/news/x.html"));
        let everyone = Robots::parse(
            "User-agent: otherbot\nDisallow: /\nUser-agent: *\nDisallow: /drafts # wip\n",
        );
        assert!(everyone.allows("/news"));
        assert!(!everyone.allows("/drafts/a"));
        assert!(Robots::parse("").allows("/anything"));
        assert!(Robots::parse("User-agent: *\nDisallow:\n").allows("/a"));
    }
}
