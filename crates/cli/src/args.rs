//! Arguments shared by several commands: a `--date`, a profile file.

use crate::failure::{bad_input, in_file, Failure};
use anyhow::Context as _;
use jiff::civil::Date;
use quietlegs_app::{diary, Context};
use std::path::Path;

/// `--date`: YYYY-MM-DD, "today" or "yesterday"; absent: the entry's default.
pub fn date_arg(ctx: &Context<'_>, text: Option<&str>) -> Result<Option<Date>, Failure> {
    Ok(text.map(|t| diary::parse_day(ctx.now, t)).transpose()?)
}

/// Reads and parses a profile file; errors name the file.
pub fn read_profile(ctx: &Context<'_>, path: &Path) -> Result<quietlegs_core::Profile, Failure> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the profile {}", path.display()))
        .map_err(bad_input)?;
    quietlegs_app::info::profile(ctx, &text)
        .map_err(in_file(&format!("profile {}", path.display())))
}
