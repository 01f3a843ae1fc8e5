//! Tests that every source quietlegs ships is one a clinician can trust: each URL in the
//! reference tables points at a canonical host (a paper's DOI or PubMed record, the guideline
//! publisher, the agency or label repository), and no text cites a document that is not public.

use super::*;

/// The hosts a URL in `data/reference/*.toml` may point at. Anything else (mirrors, AI answer
/// sites, shops, blogs, code repositories, API endpoints, intranet pages) fails by not being
/// listed. Add a host only for a primary or authoritative publisher, with a comment saying what it
/// is.
const CANONICAL_HOSTS: &[&str] = &[
    // DOI resolver: papers, EFSA Journal opinions and National Academies books by their DOI.
    "doi.org",
    // PubMed, the US National Library of Medicine's citation and abstract record of a paper.
    "pubmed.ncbi.nlm.nih.gov",
    // PubMed Central, the NLM's full-text archive of papers.
    "pmc.ncbi.nlm.nih.gov",
    // Journal of Clinical Sleep Medicine, the AASM's journal: publisher of the AASM guidelines.
    "jcsm.aasm.org",
    // NIH Office of Dietary Supplements fact sheets.
    "ods.od.nih.gov",
    // National Academies Press: the Institute of Medicine Dietary Reference Intakes books.
    "nap.nationalacademies.org",
    // European Food Safety Authority: its opinions and the tolerable upper intake levels book.
    "www.efsa.europa.eu",
    // electronic medicines compendium: UK Summaries of Product Characteristics (SmPCs).
    "www.medicines.org.uk",
    // DailyMed, the NLM's repository of US drug labels (set-id pages).
    "dailymed.nlm.nih.gov",
    // US Food and Drug Administration label and approval documents.
    "www.accessdata.fda.gov",
    "www.fda.gov",
    // World Health Organization publications (guidelines).
    "www.who.int",
    // CIAAW, the IUPAC commission that publishes the standard atomic weights.
    "ciaaw.org",
    // USDA Agricultural Research Service: the Standard Reference food composition releases.
    "www.ars.usda.gov",
    // USDA FoodData Central.
    "fdc.nal.usda.gov",
    // Debian package pages, only where the data package itself is the provenance of a table.
    "packages.debian.org",
    // J-STAGE, the Japan Science and Technology Agency's journal platform: the publisher's own
    // article page for Drug Metabolism and Pharmacokinetics (used where no DOI was found).
    "www.jstage.jst.go.jp",
];

/// Text that would cite a document outside the public repository (the project's private brief
/// and issue tracker). Patient-facing text and citations must name published sources instead.
const INTERNAL_DOCUMENTS: &[&str] = &[
    "FACTS.md",
    "FACTS §",
    "FACTS section",
    "PRODUCT.md",
    "METHODS.md",
    "/shared/",
    "../shared",
    "brief/",
    "issue #",
];

/// Every shipped table, by file name, as compiled into the binary.
const TABLES: &[(&str, &str)] = &[
    ("sources.toml", SOURCES_TOML),
    ("intake.toml", INTAKE_TOML),
    ("forms.toml", FORMS_TOML),
    ("medicines.toml", MEDICINES_TOML),
    ("rules.toml", RULES_TOML),
    ("advice.toml", ADVICE_TOML),
    ("scales.toml", SCALES_TOML),
];

/// The host of an `https://` URL, or why the URL is not acceptable. Plain `http`, user info and
/// ports are refused, so `https://doi.org@example.com/` cannot pass as `doi.org`.
fn canonical_host(url: &str) -> Result<&str, String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("{url}: not an https URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Err(format!(
            "{url}: host '{host}' is not a plain lower-case host name"
        ));
    }
    if CANONICAL_HOSTS.contains(&host) {
        Ok(host)
    } else {
        Err(format!("{url}: host '{host}' is not on the canonical list"))
    }
}

/// Every `http://` or `https://` URL written anywhere in `text` (any field or comment).
fn urls_in(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("http") {
        let from = &rest[start..];
        if !(from.starts_with("http://") || from.starts_with("https://")) {
            rest = &from["http".len()..];
            continue;
        }
        let end = from
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | ']' | '>'))
            .unwrap_or(from.len());
        out.push(&from[..end]);
        rest = &from[end..];
    }
    out
}

#[test]
fn every_source_url_is_on_a_canonical_host() {
    let d = ReferenceData::shipped().expect("shipped tables load");
    let bad: Vec<String> = d
        .sources
        .values()
        .filter_map(|s| s.url.as_deref())
        .filter_map(|u| canonical_host(u).err())
        .collect();
    assert!(
        bad.is_empty(),
        "non-canonical source URLs:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_url_anywhere_in_the_tables_leaves_the_canonical_hosts() {
    // Catches a URL pasted into a citation, a note or a comment as well as the `url` fields.
    let mut seen = 0;
    let mut bad = Vec::new();
    for (file, text) in TABLES {
        for u in urls_in(text) {
            seen += 1;
            if let Err(e) = canonical_host(u) {
                bad.push(format!("{file}: {e}"));
            }
        }
    }
    // The scan must find the URLs the `url` fields hold, or it would pass vacuously.
    let with_url = ReferenceData::shipped()
        .expect("shipped tables load")
        .sources
        .values()
        .filter(|s| s.url.is_some())
        .count();
    assert!(
        seen >= with_url,
        "scan found {seen} URLs, sources hold {with_url}"
    );
    assert!(bad.is_empty(), "non-canonical URLs:\n{}", bad.join("\n"));
}

#[test]
fn no_citation_or_table_text_cites_an_internal_document() {
    let d = ReferenceData::shipped().expect("shipped tables load");
    let mut bad = Vec::new();
    for s in d.sources.values() {
        for pat in INTERNAL_DOCUMENTS {
            if s.citation.contains(pat) {
                bad.push(format!("[{}] citation mentions '{pat}'", s.id));
            }
        }
    }
    // Patient-facing text (advice, notes, medicine messages) and comments live in the same files.
    for (file, text) in TABLES {
        for (n, line) in text.lines().enumerate() {
            for pat in INTERNAL_DOCUMENTS {
                if line.contains(pat) {
                    bad.push(format!("{file}:{}: mentions '{pat}'", n + 1));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "internal documents cited:\n{}",
        bad.join("\n")
    );
}

#[test]
fn host_check_refuses_mirrors_shops_repositories_and_lookalikes() {
    // Each of these was, or resembles, a URL the tables once held; every one must be refused.
    let refused = [
        "https://github.com/perlancar/perl-App-MineralUtils",
        "https://rlsfoundation.blogspot.com/2026/01/commonly-used-rating-scales-in-rls.html",
        "https://api-pubmed-ncbi.laibokeji.com/39324694",
        "https://www.droracle.ai/articles/705109/",
        "https://medx.it.com/what-medications-cause-restless-leg-syndrome",
        "https://api.fda.gov/drug/label.json",
        "https://www.drugs.com/monograph/magnesium-sulfate.html",
        "https://books.nap.edu/openbook.php?record_id=5776&page=242",
        "http://ods.od.nih.gov/factsheets/Magnesium-HealthProfessional/",
        "https://ods.od.nih.gov.example.com/factsheets/",
        "https://doi.org@example.com/10.1000/1",
        "https://doi.org:8443/10.1000/1",
        "https://DOI.org/10.1000/1",
        "ftp://doi.org/10.1000/1",
    ];
    for u in refused {
        assert!(canonical_host(u).is_err(), "{u} was accepted");
    }
    assert_eq!(
        canonical_host("https://doi.org/10.5664/jcsm.11390"),
        Ok("doi.org")
    );
    assert_eq!(
        canonical_host("https://pubmed.ncbi.nlm.nih.gov/38738598/"),
        Ok("pubmed.ncbi.nlm.nih.gov")
    );
    assert_eq!(
        canonical_host("https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid=abc"),
        Ok("dailymed.nlm.nih.gov")
    );
}

#[test]
fn url_scan_finds_urls_in_any_field_and_stops_at_delimiters() {
    let text = "citation = \"see https://a.example/x?y=1\"\n# http://b.example/z) httpx\nnone here";
    assert_eq!(
        urls_in(text),
        vec!["https://a.example/x?y=1", "http://b.example/z"]
    );
}
