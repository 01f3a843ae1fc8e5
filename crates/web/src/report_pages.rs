//! The clinician's report: `/report` (the page, with a print stylesheet), `/report.pdf` (the
//! same document as a PDF download) and `GET /api/v1/report` (its figures as JSON). All three
//! come from one `quietlegs_report::Document`, so they cannot disagree.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use quietlegs_app::clinician;
use quietlegs_report::document::{Block, Document};

use crate::access::{Access, Routes};
use crate::data_api::attachment;
use crate::error::{ApiError, ErrorBody};
use crate::pages::{error_page, page, Csrf};
use crate::trial_api::TrialBody;
use crate::WebState;

pub fn routes(state: &WebState) -> Routes {
    Routes::new(state)
        .route(Access::Participant, "/report", get(report_page))
        .route(Access::Participant, "/report.pdf", get(report_pdf))
}

/// Routes under `/api/v1`.
pub fn api_routes(state: &WebState) -> Routes {
    Routes::nested(state, "/api/v1").route(Access::Participant, "/report", get(report_json))
}

/// The paths of this module (nested under `/api/v1` by [`crate::api::ApiDoc`]).
#[derive(OpenApi)]
#[openapi(paths(report_json))]
pub struct ReportApi;

/// The dates of a report; either may be left out (from the first entry, to today).
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ReportRange {
    /// First day, YYYY-MM-DD.
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (not after today).
    pub to: Option<String>,
}

impl ReportRange {
    /// Empty text from a form is "not given".
    pub(crate) fn given(text: &Option<String>) -> Option<String> {
        text.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    }
}

async fn build(
    state: &WebState,
    q: &ReportRange,
) -> Result<(clinician::ClinicianReport, Document), ApiError> {
    let from = ReportRange::given(&q.from);
    let to = ReportRange::given(&q.to);
    state
        .run(move |store, person, ctx| {
            let range = clinician::range(store, person, ctx, from.as_deref(), to.as_deref())?;
            let r = clinician::report(store, person, ctx, range)?;
            let doc = quietlegs_report::document(&r, ctx.reference);
            Ok((r, doc))
        })
        .await
}

/// The clinician's report (`report --json`): the profile, plan and flags, the diary's figures
/// over the dates and the latest trial (its arms only once they may be shown).
#[utoipa::path(
    get,
    path = "/report",
    params(ReportRange),
    responses(
        (status = 200, description = "`ClinicianReport` (docs/json.md)", body = TrialBody),
        (status = 422, description = "A date that is not YYYY-MM-DD, after today, or from after to (the field is named)", body = ErrorBody),
    )
)]
async fn report_json(
    State(state): State<WebState>,
    Query(q): Query<ReportRange>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (r, _) = build(&state, &q).await?;
    serde_json::to_value(&r).map(Json).map_err(|e| {
        ApiError::from(quietlegs_app::AppError::internal(format!(
            "writing the report: {e}"
        )))
    })
}

/// One block, ready for the template.
enum BlockView {
    Paragraph(String),
    Callout(String),
    Facts(Vec<(String, String)>),
    Bullets(Vec<String>),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// The chart as inline SVG (escaped by the renderer) and its summary.
    Chart {
        svg: String,
        summary: String,
    },
}

struct SectionView {
    id: &'static str,
    heading: String,
    new_page: bool,
    blocks: Vec<BlockView>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportTemplate {
    nav: &'static str,
    /// Where the date form goes (this page).
    action: String,
    /// Whose report it is, when a clinician reads a participant's.
    note: Option<String>,
    title: String,
    subtitle: String,
    disclaimer: String,
    from: String,
    to: String,
    pdf_link: String,
    sections: Vec<SectionView>,
}

fn views(doc: &Document) -> Vec<SectionView> {
    let mut charts = 0;
    doc.sections
        .iter()
        .map(|s| SectionView {
            id: s.id,
            heading: s.heading.clone(),
            new_page: s.new_page,
            blocks: s
                .blocks
                .iter()
                .map(|b| match b {
                    Block::Paragraph(t) => BlockView::Paragraph(t.clone()),
                    Block::Callout(t) => BlockView::Callout(t.clone()),
                    Block::Facts(f) => BlockView::Facts(f.clone()),
                    Block::Bullets(b) => BlockView::Bullets(b.clone()),
                    Block::Table { header, rows } => BlockView::Table {
                        header: header.clone(),
                        rows: rows.clone(),
                    },
                    Block::Chart(c) => {
                        charts += 1;
                        BlockView::Chart {
                            svg: quietlegs_report::html::chart_svg(
                                c,
                                &format!("report-chart-{charts}"),
                            ),
                            summary: c.summary.clone(),
                        }
                    }
                })
                .collect(),
        })
        .collect()
}

/// The PDF link for the same dates: each date that was asked for, as parsed.
fn pdf_link(q: &ReportRange, range: clinician::ReportRange) -> String {
    pdf_link_at("/report.pdf", q, range)
}

/// [`pdf_link`] for a PDF at `base`.
pub(crate) fn pdf_link_at(base: &str, q: &ReportRange, range: clinician::ReportRange) -> String {
    let mut pairs = Vec::new();
    if ReportRange::given(&q.from).is_some() {
        pairs.push(format!("from={}", range.from));
    }
    if ReportRange::given(&q.to).is_some() {
        pairs.push(format!("to={}", range.to));
    }
    if pairs.is_empty() {
        base.into()
    } else {
        format!("{base}?{}", pairs.join("&"))
    }
}

async fn report_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<ReportRange>,
) -> Response {
    let csrf = Csrf::of(&headers);
    let (r, doc) = match build(&state, &q).await {
        Ok(v) => v,
        Err(e) => return error_page(e, &csrf),
    };
    report_view(
        "report",
        "/report".into(),
        None,
        pdf_link(&q, r.range),
        &r,
        &doc,
        &csrf,
    )
}

/// The report page for `r` (the person's own, or a participant's on a clinic server).
pub(crate) fn report_view(
    nav: &'static str,
    action: String,
    note: Option<String>,
    pdf_link: String,
    r: &clinician::ClinicianReport,
    doc: &Document,
    csrf: &Csrf,
) -> Response {
    let t = ReportTemplate {
        nav,
        action,
        note,
        title: doc.title.clone(),
        subtitle: doc.subtitle.clone(),
        disclaimer: doc.disclaimer.clone(),
        from: r.range.from.to_string(),
        to: r.range.to.to_string(),
        pdf_link,
        sections: views(doc),
    };
    page(StatusCode::OK, t.render(), csrf)
}

/// A report as a PDF download (`quietlegs-report-FROM-to-TO.pdf`), made on a blocking thread.
pub(crate) async fn pdf_download(
    r: &clinician::ClinicianReport,
    doc: Document,
    csrf: &Csrf,
) -> Response {
    let made = tokio::task::spawn_blocking(move || quietlegs_report::pdf(&doc)).await;
    match made {
        Ok(Ok(bytes)) => attachment(
            bytes,
            "application/pdf",
            &format!("quietlegs-report-{}-to-{}.pdf", r.range.from, r.range.to),
        ),
        Ok(Err(e)) => error_page(
            ApiError::from(quietlegs_app::AppError::internal(format!(
                "making the PDF: {e}"
            ))),
            csrf,
        ),
        Err(e) => error_page(
            ApiError::from(quietlegs_app::AppError::internal(format!(
                "making the PDF: {e}"
            ))),
            csrf,
        ),
    }
}

/// The same report as an A4 PDF: `quietlegs-report-FROM-to-TO.pdf`.
async fn report_pdf(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<ReportRange>,
) -> Response {
    let csrf = Csrf::of(&headers);
    let (r, doc) = match build(&state, &q).await {
        Ok(v) => v,
        Err(e) => return error_page(e, &csrf),
    };
    pdf_download(&r, doc, &csrf).await
}
