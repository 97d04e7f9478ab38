//! `lists-1m`: every filter and sort of API.md on a 1,000,000-row table,
//! the first page and a page deep in the walk (reached by following
//! `Link: rel="next"`), each through the API and then with pgbench running
//! the statement the service issued for that very URL, with the values the
//! shared SQL builder binds for it (cursor position included), and with
//! pgbench running what a careful hand-written client would send for it
//! (the same query, its values written in, prepared once). The two
//! pages are measured in turns, three rounds each, and each keeps its round
//! of median ratio.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use todo_core::Owner;
use todo_load::callers::Caller;
use todo_load::client::Connection;
use todo_load::sustained::{RunReport, run_load};
use todo_load::workload::{IdRange, Workload};

use crate::cluster::{ActivitySampler, Cluster, connect};
use crate::error::BenchError;
use crate::generated_rows::{Owners, fill_table};
use crate::measure::{BenchOptions, closed_loop_as};
use crate::parts::users::{BENCH_SECRET, mint_token};
use crate::pgbench::scripts::{hand_written_script, list_statement_for, listing_script};
use crate::pgbench::{PgbenchRun, run_scripts};
use crate::results::{Ceiling, Issued, Part, Round, save};
use crate::service::{Service, service_binary};

/// Connections of every listing, API and pgbench alike.
pub const LIST_CONNECTIONS: u64 = 64;

/// Pages followed to reach the deep page (the page size is the bench's
/// `--list-page-size`, 100 unless told).
const DEEP_PAGES: u32 = 50;

/// Each filter of API.md (with the default sort), `completed` with each
/// other filter, then each sort alone. The values suit the generated
/// table: 10% open, priorities 1–5, due dates over 2025–2026 (a quarter
/// without), 0.1% "Urgent" titles.
pub const LIST_QUERIES: [&str; 18] = [
    "/api/todo?completed=false",
    "/api/todo?priority=5",
    "/api/todo?min_priority=4",
    "/api/todo?due_before=2025-03-01",
    "/api/todo?due_after=2026-10-01",
    "/api/todo?q=urgent",
    "/api/todo?completed=false&priority=5",
    "/api/todo?completed=false&min_priority=4",
    "/api/todo?completed=false&due_after=2025-06-01&due_before=2025-09-01",
    "/api/todo?completed=false&q=urgent",
    "/api/todo?sort=created_at",
    "/api/todo?sort=-created_at",
    "/api/todo?sort=priority",
    "/api/todo?sort=-priority",
    "/api/todo?sort=due_date",
    "/api/todo?sort=-due_date",
    "/api/todo?sort=id",
    "/api/todo?sort=-id",
];

/// One listing page, through the API and with pgbench.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListPoint {
    pub rows: u64,
    /// Users the rows are spread over, JWT on (0: open mode, every row the
    /// anonymous user's; files of older runs have none).
    #[serde(default)]
    pub users: u64,
    /// The listing, without limit or cursor.
    pub query: String,
    /// Pages followed by `rel="next"` to reach this one: 0 for the first.
    pub pages_in: u32,
    /// The URL both measured.
    pub url: String,
    pub api: RunReport,
    pub ceiling: Ceiling,
    pub ratio: f64,
    /// pgbench running the hand-written statement for the URL, measured in
    /// the same round; none in files of older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hand_written: Option<Ceiling>,
    /// Whether the service's statement was the shared builder's text.
    pub statement_is_builders: bool,
    /// Every round's figures; `api`, `ceiling` and `ratio` are those of
    /// the round of median ratio.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<Round>,
}

impl ListPoint {
    pub fn is_first(&self) -> bool {
        self.pages_in == 0
    }

    /// The API's rate over the hand-written statement's, when measured.
    pub fn hand_written_ratio(&self) -> Option<f64> {
        let reference = self.hand_written.as_ref()?.throughput;
        Some(Round::of(self.api.throughput, reference).ratio)
    }
}

/// Who lists: the owner whose todos the statements read, and the caller
/// the API's requests go as (with that user's token when there are users).
#[derive(Debug, Clone)]
pub(crate) struct Lister {
    pub owner: Owner,
    pub caller: Caller,
}

impl Lister {
    /// The anonymous user, in open mode, over the todos `ids`.
    pub(crate) fn anonymous(ids: IdRange) -> Lister {
        Lister {
            owner: Owner::ANONYMOUS,
            caller: Caller::anonymous(ids),
        }
    }
}

/// `lists-1m`: each listing of `LIST_QUERIES`, first and deep page, on
/// `index_rows` generated rows (spread over `list_users` users, when
/// asked, listed as one of them).
pub async fn run_lists(cluster: &Cluster, options: &BenchOptions) -> Result<(), BenchError> {
    let (name, url) = cluster.fresh_database().await?;
    let admin = connect(&url).await?;
    let owners = Owners::from_count(options.list_users);
    eprintln!("  seeding {} rows ({owners:?})…", options.index_rows);
    let (_, owner) = fill_table(&admin, options.index_rows, owners).await?;
    let log = options.out.join("service-lists-1m.log");
    let ids = IdRange {
        min: 1,
        max: i64::try_from(options.index_rows).unwrap_or(i64::MAX),
    };
    let mut env = vec![("DATABASE_URL", url.clone())];
    let mut lister = Lister::anonymous(ids);
    if let Some(subject) = owners.measured_subject() {
        env.push(("JWT_SECRET", BENCH_SECRET.to_owned()));
        lister.owner = owner;
        lister.caller.authorization = Some(mint_token(&service_binary()?, &subject).await?);
    }
    let service = Service::start(&env, &log).await?;
    let mut points = Vec::new();
    let chosen = LIST_QUERIES.into_iter().filter(|query| {
        options.list_queries.is_empty()
            || options
                .list_queries
                .iter()
                .any(|wanted| query.contains(wanted.as_str()))
    });
    for query in chosen {
        let first = format!("{query}&limit={}", options.list_page_size);
        // A connection of its own: the service closes idle keep-alive
        // connections, and the runs between walks are long.
        let mut walker = Connection::open(&service.url)
            .await
            .map_err(|e| BenchError::Setup(e.to_string()))?;
        walker.authorize(lister.caller.authorization.as_ref());
        let (deep, pages_in) = walk(&mut walker, &first, DEEP_PAGES).await?;
        drop(walker);
        let mut pages = vec![(first, 0)];
        // A listing of one page has no deep page.
        if pages_in > 0 {
            pages.push((deep, pages_in));
        }
        // The pages take turns, round after round, so that neither is
        // favoured or penalised by the moment it ran at on a shared machine;
        // each round is the API run and pgbench right after it, and each
        // page keeps its round of median ratio (a best-of-three per side let
        // one outlier decide: pgbench's first page of `sort=-priority`
        // measured 8,818/s in one run and 12,975/s in the next).
        let mut measured: Vec<Vec<PageFigures>> = vec![Vec::new(); pages.len()];
        for _ in 0..ROUNDS {
            for ((page_url, _), rounds) in pages.iter().zip(measured.iter_mut()) {
                rounds.push(
                    measure_page(cluster, &name, &url, &service, &lister, options, page_url)
                        .await?,
                );
            }
        }
        for ((page_url, pages_in), rounds) in pages.into_iter().zip(measured) {
            let figures: Vec<Round> = rounds
                .iter()
                .map(|round| Round::of(round.api.throughput, round.ceiling.throughput))
                .collect();
            let Some(PageFigures {
                api,
                ceiling,
                hand_written,
                statement_is_builders,
            }) = median_round(rounds)
            else {
                continue;
            };
            let ratio = Round::of(api.throughput, ceiling.throughput).ratio;
            eprintln!(
                "  {query} page {}: API {:.0}/s, pgbench {:.0}/s, hand-written {:.0}/s (median of {ROUNDS})",
                pages_in + 1,
                api.throughput,
                ceiling.throughput,
                hand_written.throughput
            );
            points.push(ListPoint {
                rows: options.index_rows,
                users: options.list_users,
                query: query.to_owned(),
                pages_in,
                url: page_url,
                api,
                ceiling,
                ratio,
                hand_written: Some(hand_written),
                statement_is_builders,
                rounds: figures,
            });
            save(&options.out, Part::Lists1m.file_name(), &points)?;
        }
    }
    service.stop().await
}

/// How many times each page is measured, API and pgbench alike.
const ROUNDS: usize = 3;

/// One measurement of a page.
#[derive(Debug, Clone)]
pub(crate) struct PageFigures {
    pub api: RunReport,
    pub ceiling: Ceiling,
    pub hand_written: Ceiling,
    pub statement_is_builders: bool,
}

/// The round of median ratio.
fn median_round(mut rounds: Vec<PageFigures>) -> Option<PageFigures> {
    let ratio =
        |figures: &PageFigures| Round::of(figures.api.throughput, figures.ceiling.throughput).ratio;
    rounds.sort_by(|a, b| ratio(a).total_cmp(&ratio(b)));
    let middle = rounds.len() / 2;
    (!rounds.is_empty()).then(|| rounds.swap_remove(middle))
}

/// `page_url` through the API as `lister`, then pgbench running the
/// statement the service issued for it, then the hand-written one.
pub(crate) async fn measure_page(
    cluster: &Cluster,
    name: &str,
    url: &str,
    service: &Service,
    lister: &Lister,
    options: &BenchOptions,
    page_url: &str,
) -> Result<PageFigures, BenchError> {
    let mut config = closed_loop_as(
        service,
        Workload::List,
        LIST_CONNECTIONS,
        Arc::from([lister.caller.clone()]),
        options,
    );
    config.list_path = page_url.to_owned();
    let sampler = ActivitySampler::start(url, name).await?;
    let api = run_load(&service.url, &config).await;
    let texts = sampler.finish().await;
    let (statement, statement_is_builders) = listing_issued(page_url, lister.owner, &texts)
        .ok_or_else(|| BenchError::Setup(format!("no listing statement seen for {page_url}")))?;
    let mut defines = Vec::new();
    let script = listing_script(page_url, lister.owner, &statement, &mut defines)
        .ok_or_else(|| BenchError::Setup(format!("cannot read {page_url}")))?;
    let run = PgbenchRun {
        port: cluster.port(),
        database: name,
        clients: LIST_CONNECTIONS,
        threads: 2,
        duration: options.duration,
        dir: &options.out,
    };
    let ceiling = run_scripts(&run, &[(script, 1)], &defines).await?;
    let hand_written = hand_written_script(page_url, lister.owner)
        .ok_or_else(|| BenchError::Setup(format!("cannot read {page_url}")))?;
    let hand_written = run_scripts(&run, &[(hand_written, 1)], &[]).await?;
    Ok(PageFigures {
        api,
        ceiling,
        hand_written,
        statement_is_builders,
    })
}

/// Follows `rel="next"` from `first` up to `pages` times; the URL reached
/// and the pages followed (fewer when the listing ends sooner).
async fn walk(
    connection: &mut Connection,
    first: &str,
    pages: u32,
) -> Result<(String, u32), BenchError> {
    let mut url = first.to_owned();
    for followed in 0..pages {
        let response = connection
            .get(&url)
            .await
            .map_err(|e| BenchError::Setup(format!("walking {first}: {e}")))?;
        if response.status != http::StatusCode::OK {
            return Err(BenchError::Setup(format!(
                "walking {first}: {} at {url}",
                response.status
            )));
        }
        match response.next_link() {
            Some(next) => url = next,
            None => return Ok((url, followed)),
        }
    }
    Ok((url, pages))
}

/// The listing statement among the texts sampled while `url` ran, and
/// whether it is the shared builder's text for it.
fn listing_issued(url: &str, owner: Owner, texts: &[Issued]) -> Option<(String, bool)> {
    let built = list_statement_for(url, owner)?;
    let normal = |text: &str| {
        text.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let candidates: Vec<&Issued> = texts
        .iter()
        .filter(|issued| {
            let text = normal(&issued.query);
            text.starts_with("select") && text.contains("from todos") && text.contains(" limit ")
        })
        .collect();
    if let Some(same) = candidates
        .iter()
        .find(|issued| normal(&issued.query) == normal(&built.sql))
    {
        return Some((same.query.clone(), true));
    }
    candidates
        .iter()
        .find(|issued| placeholders(&issued.query) == built.params.len())
        .map(|issued| (issued.query.clone(), false))
}

/// The highest `$n` in `text`.
fn placeholders(text: &str) -> usize {
    text.split('$')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{ceiling, report};

    #[test]
    fn the_builders_own_text_is_preferred_and_recognised() {
        let url = "/api/todo?completed=false&limit=100";
        let built = list_statement_for(url, Owner::ANONYMOUS).unwrap();
        let texts = vec![
            Issued {
                query: "select 1".to_owned(),
                calls: 0,
            },
            Issued {
                query: built.sql.clone(),
                calls: 0,
            },
        ];
        assert_eq!(
            listing_issued(url, Owner::ANONYMOUS, &texts),
            Some((built.sql, true))
        );
        assert_eq!(placeholders("a = $1 and b < $12 limit $3"), 12);
    }

    fn figures(api: f64, pgbench: f64) -> PageFigures {
        PageFigures {
            api: report(Workload::List, 64, api),
            ceiling: ceiling("pgbench", pgbench),
            hand_written: ceiling("pgbench", pgbench),
            statement_is_builders: true,
        }
    }

    #[test]
    fn a_page_keeps_its_round_of_median_ratio_both_sides_from_that_round() {
        let kept = median_round(vec![
            figures(900.0, 1000.0),
            figures(600.0, 1000.0),
            figures(800.0, 1000.0),
        ])
        .unwrap();
        assert_eq!(
            (kept.api.throughput, kept.ceiling.throughput),
            (800.0, 1000.0)
        );
        assert!(median_round(Vec::new()).is_none());
    }
}
