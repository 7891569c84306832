//! Links that open a citation's source at the quoted sentence: `url#:~:text=start,end` (URL
//! text fragments), the sentence cut at its own punctuation so that each part starts and ends
//! on a word boundary, percent-encoded as the text-fragment spec asks. A browser without
//! text fragments opens the page at its top.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use crate::answer::Citation;

/// A sentence up to this many characters is matched whole (`text=sentence`).
const WHOLE: usize = 40;

/// Where a long sentence may be cut: after a comma, an enumeration comma, a semicolon or a
/// colon (full or half width), each a word boundary in every language.
const CUTS: &[char] = &['，', ',', '、', '；', ';', '：', ':'];

/// The link of a citation whose article has a URL: its page at the quoted sentence.
pub fn of(c: &Citation) -> Option<String> {
    c.url
        .as_deref()
        .map(|url| quote_link(url, &c.best_sentence))
}

/// `url` with a text fragment that selects `sentence` on the page.
pub fn quote_link(url: &str, sentence: &str) -> String {
    let page = url.split('#').next().unwrap_or(url);
    let sentence = sentence.trim();
    if sentence.is_empty() {
        return page.to_string();
    }
    let directive = match split(sentence) {
        Some((start, end)) => format!("{},{}", encode(start), encode(end)),
        None => encode(sentence),
    };
    format!("{page}#:~:text={directive}")
}

/// The sentence's head (up to and with its first cut) and tail (after its last cut), when it
/// is long and has two cuts far enough apart.
fn split(sentence: &str) -> Option<(&str, &str)> {
    if sentence.chars().count() <= WHOLE {
        return None;
    }
    let first = sentence.char_indices().find(|(_, c)| CUTS.contains(c))?;
    let last = sentence
        .char_indices()
        .rev()
        .find(|(_, c)| CUTS.contains(c))?;
    let head_end = first.0 + first.1.len_utf8();
    let tail_start = last.0 + last.1.len_utf8();
    let (head, tail) = (&sentence[..head_end], sentence[tail_start..].trim_start());
    let fits = |part: &str| (2..=WHOLE).contains(&part.chars().count());
    (tail_start > head_end && fits(head) && fits(tail)).then_some((head, tail))
}

/// Every character but ASCII letters and digits percent-encoded (so `-`, `,` and `&`, which
/// the directive's syntax uses, always are).
fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use percent_encoding::percent_decode_str;

    fn decoded(link: &str) -> Vec<String> {
        let directive = link.split_once("#:~:text=").unwrap().1;
        directive
            .split(',')
            .map(|p| percent_decode_str(p).decode_utf8().unwrap().into_owned())
            .collect()
    }

    #[test]
    fn a_short_sentence_is_matched_whole_and_encoded() {
        let link = quote_link(
            "https://example.com/a?x=1#top",
            "美日同盟-新黄金时代, A&B。",
        );
        assert!(
            link.starts_with("https://example.com/a?x=1#:~:text="),
            "{link}"
        );
        let directive = link.split_once("text=").unwrap().1;
        assert!(!directive.contains(['-', ',', '&', ' ']), "{directive}");
        assert_eq!(decoded(&link), ["美日同盟-新黄金时代, A&B。"]);
    }

    #[test]
    fn a_long_sentence_is_selected_from_its_first_to_its_last_clause() {
        let sentence = "根據日美雙方公布的協議內容，日本將在未來五年內把美國大米的進口量提高百分之七十五，主要用於加工食品與餐飲業。";
        let parts = decoded(&quote_link("https://a.tw/x", sentence));
        assert_eq!(
            parts,
            ["根據日美雙方公布的協議內容，", "主要用於加工食品與餐飲業。"]
        );
        assert!(sentence.starts_with(&parts[0]) && sentence.ends_with(&parts[1]));
    }

    #[test]
    fn a_long_sentence_without_cuts_is_matched_whole() {
        let sentence = "x".repeat(60);
        assert_eq!(
            decoded(&quote_link("https://a.tw/x", &sentence)),
            [sentence]
        );
        assert_eq!(quote_link("https://a.tw/x", "  "), "https://a.tw/x");
    }
}
