//! Writes a compact Simplified → English-glosses lexicon from CC-CEDICT (via the
//! chinese_dictionary 3.0.0 crate, which embeds it): an fst mapping each simplified headword
//! to a byte offset in a text file of glosses ("gloss; gloss\n").
//! usage: cargo run --release -- OUT_DIR

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use chinese_dictionary::WordEntry;

const DATA: &[u8] = include_bytes!(concat!(
    env!("CARGO_HOME_REGISTRY_SRC"),
    "/chinese_dictionary-3.0.0/data/data.dictionary"
));

fn keep(gloss: &str) -> bool {
    let g = gloss.to_lowercase();
    !(g.starts_with("variant of")
        || g.starts_with("old variant")
        || g.starts_with("see ")
        || g.starts_with("surname")
        || g.starts_with("used in")
        || g.starts_with("cl:")
        || g.contains("japanese variant")
        || g.starts_with("(archaic)")
        || g.starts_with("(old)"))
}

fn main() {
    let out = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: cedict-extract OUT_DIR"));
    let data: HashMap<u32, WordEntry> = bincode::deserialize_from(DATA).expect("data.dictionary");
    let mut by_word: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in data.values() {
        if entry.simplified.chars().count() > 6 {
            continue;
        }
        let glosses = by_word.entry(entry.simplified.clone()).or_default();
        let parts = entry.english.iter().flat_map(|g| g.split(';'));
        for g in parts.map(|g| g.trim().replace('\n', " ")).filter(|g| keep(g)) {
            if !g.is_empty() && !glosses.contains(&g) {
                glosses.push(g);
            }
        }
    }
    by_word.retain(|_, g| !g.is_empty());
    let mut text = Vec::new();
    let mut builder = fst::MapBuilder::memory();
    for (word, glosses) in &by_word {
        builder.insert(word, text.len() as u64).unwrap();
        writeln!(text, "{}", glosses.join("; ")).unwrap();
    }
    std::fs::write(out.join("cedict.fst"), builder.into_inner().unwrap()).unwrap();
    std::fs::write(out.join("cedict.txt"), &text).unwrap();
    eprintln!("{} headwords, {} bytes of glosses", by_word.len(), text.len());
}
