//! Who the load's requests are sent as: one anonymous caller (a service in
//! open mode), or many users, each with their own token and their own
//! todos, one picked at random for every request.

use std::path::Path;

use http::HeaderValue;

use crate::client::Connection;
use crate::service_url::ServiceUrl;
use crate::workload::{IdRange, PrepareError, Rng, ensure_todos};

/// One caller: the `Authorization` header it sends, and the ids of its own
/// todos that its reads and updates pick from.
#[derive(Debug, Clone)]
pub struct Caller {
    pub authorization: Option<HeaderValue>,
    pub ids: IdRange,
}

impl Caller {
    /// The caller without a token.
    pub fn anonymous(ids: IdRange) -> Caller {
        Caller {
            authorization: None,
            ids,
        }
    }
}

/// Picks the caller of one request, uniformly.
pub fn pick<'a>(callers: &'a [Caller], rng: &mut Rng) -> Option<&'a Caller> {
    let count = callers.len() as u64;
    (count > 0).then(|| &callers[(rng.next_u64() % count) as usize])
}

/// Why the callers could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum CallersError {
    #[error("cannot read the tokens file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the tokens file holds no token")]
    Empty,
    #[error("line {line} of the tokens file is not a token")]
    NotAToken { line: usize },
    #[error(transparent)]
    Prepare(#[from] PrepareError),
}

/// The tokens of a file, one per line (blank lines and `#` comments
/// skipped), as `Bearer` headers. A token is never echoed in an error.
pub fn read_tokens(path: &Path) -> Result<Vec<HeaderValue>, CallersError> {
    let text = std::fs::read_to_string(path).map_err(|source| CallersError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let mut headers = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let token = line.trim();
        if token.is_empty() || token.starts_with('#') {
            continue;
        }
        let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| CallersError::NotAToken { line: index + 1 })?;
        header.set_sensitive(true);
        headers.push(header);
    }
    if headers.is_empty() {
        return Err(CallersError::Empty);
    }
    Ok(headers)
}

/// Each token's user, with at least `per_user` todos of its own (created in
/// bulk where fewer exist), one user after another over one connection so
/// that each user's new todos get consecutive ids.
pub async fn seed_users(
    service: &ServiceUrl,
    tokens: &[HeaderValue],
    per_user: u64,
) -> Result<Vec<Caller>, CallersError> {
    let mut connection = Connection::open(service)
        .await
        .map_err(PrepareError::from)?;
    let mut callers = Vec::with_capacity(tokens.len());
    for token in tokens {
        connection.authorize(Some(token));
        let ids = ensure_todos(&mut connection, per_user.max(1)).await?;
        callers.push(Caller {
            authorization: Some(token.clone()),
            ids,
        });
    }
    Ok(callers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_one_per_line_without_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "# users\naaa.bbb.ccc\n\n  ddd.eee.fff  \n").unwrap();
        let tokens = read_tokens(&path).unwrap();
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens[1].to_str().unwrap(), "Bearer ddd.eee.fff");
        assert!(tokens.iter().all(HeaderValue::is_sensitive));
    }

    #[test]
    fn a_file_without_tokens_or_with_a_broken_line_is_refused_without_echoing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "# nothing\n").unwrap();
        assert!(matches!(read_tokens(&path), Err(CallersError::Empty)));
        std::fs::write(&path, "ok.ok.ok\nsecret\u{7}token\n").unwrap();
        let error = read_tokens(&path).unwrap_err();
        assert!(matches!(error, CallersError::NotAToken { line: 2 }));
        assert!(!error.to_string().contains("secret"));
    }

    #[test]
    fn every_caller_is_picked() {
        let ids = IdRange { min: 1, max: 1 };
        let callers = vec![Caller::anonymous(ids); 3];
        let mut rng = Rng::new(3);
        let mut seen = [0; 3];
        for _ in 0..300 {
            let caller = pick(&callers, &mut rng).unwrap();
            let index = callers
                .iter()
                .position(|c| std::ptr::eq(c, caller))
                .unwrap();
            seen[index] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50), "{seen:?}");
        assert!(pick(&[], &mut rng).is_none());
    }
}
