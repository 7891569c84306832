//! Prints the CC-CEDICT glosses of each word read from stdin (one a line) as
//! `word<TAB>gloss | gloss …`: used by `tools/retag-adverbs.py`.
//!
//! `cargo run --release --example glosses < words.txt`

use std::io::{BufRead, Write};

use summit_qa::lexicon::Lexicon;

fn main() -> std::io::Result<()> {
    let lexicon = Lexicon::embedded();
    let mut out = std::io::stdout().lock();
    for word in std::io::stdin().lock().lines() {
        let word = word?;
        writeln!(out, "{word}\t{}", lexicon.glosses(word.trim()).join(" | "))?;
    }
    Ok(())
}
