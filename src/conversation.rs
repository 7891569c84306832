//! The one conversation rule every transport shares (console `chat` and Telegram): which
//! message follows up the previous question, and which questions are remembered for that.

use crate::answer::{Answer, Reply};
use crate::text;

/// True when `message` leans on the previous question and is asked with it as context
/// (那防卫装备呢？, and the rice?, what about Boeing?). In Telegram a reply to one of the bot's
/// answers is a follow-up too, whatever its wording.
pub fn is_follow_up(message: &str) -> bool {
    text::is_elliptical(message)
}

/// True when the question behind `answer` is remembered as the context of a follow-up: only
/// a question whose subject the articles cover (answered, closest passages or "not stated"); a refused one or
/// small talk has nothing to follow up on.
pub fn remembers(answer: &Answer) -> bool {
    matches!(
        answer.reply,
        Reply::Answer | Reply::Closest | Reply::NotStated
    )
}
