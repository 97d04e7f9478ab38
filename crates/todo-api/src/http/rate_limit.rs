//! Rate limits (API.md, "Rate limits"): each user's `/api` requests, the
//! anonymous user's counted per client address. A keyed GCRA limiter from
//! `governor`, whose state is a sharded concurrent map: no lock that all
//! requests share. Answers carry the IETF httpapi `RateLimit-Policy` and
//! `RateLimit` headers; a request past the limit gets 429 with
//! `Retry-After` and is not processed.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use ipnet::IpNet;

use super::auth::Principal;

/// Whose requests are counted together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RateKey {
    /// A signed-in user.
    User(i64),
    /// The anonymous user at one client address (unknown when the
    /// connection's address is, as in in-process tests).
    Address(Option<IpAddr>),
}

type KeyedLimiter =
    RateLimiter<RateKey, DefaultKeyedStateStore<RateKey>, DefaultClock, StateInformationMiddleware>;

/// The name of the one policy the headers describe.
const POLICY_NAME: &str = "\"default\"";

const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// What the limiter says of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Let in; `remaining` more may follow at once, and the quota is whole
    /// again in `reset` seconds.
    Allowed { remaining: u32, reset: u64 },
    /// Past the limit: the next request may come in `retry_after` seconds.
    Denied { retry_after: u64 },
}

/// The limits of one instance (API.md: "Limits are kept by each instance").
pub struct RateLimits {
    limiter: KeyedLimiter,
    per_second: NonZeroU32,
    burst: NonZeroU32,
    /// Proxies whose `X-Forwarded-For` is believed.
    trusted_proxies: Vec<IpNet>,
    policy: HeaderValue,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("per_second", &self.per_second)
            .field("burst", &self.burst)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish_non_exhaustive()
    }
}

impl RateLimits {
    /// `per_second` requests a second, up to `burst` at once.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32, trusted_proxies: Vec<IpNet>) -> Self {
        let quota = Quota::per_second(per_second).allow_burst(burst);
        let window = burst.get().div_ceil(per_second.get());
        let policy = HeaderValue::from_str(&format!("{POLICY_NAME};q={};w={window}", burst.get()))
            .unwrap_or_else(|_| HeaderValue::from_static("\"default\""));
        RateLimits {
            limiter: RateLimiter::dashmap(quota).with_middleware::<StateInformationMiddleware>(),
            per_second,
            burst,
            trusted_proxies,
            policy,
        }
    }

    /// Counts a request of `principal` from `peer` (the connection's
    /// address) with `headers`.
    pub fn check(
        &self,
        principal: &Principal,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
    ) -> Verdict {
        let key = if principal.owner.is_anonymous() {
            RateKey::Address(self.client_address(peer, headers))
        } else {
            RateKey::User(principal.owner.id())
        };
        match self.limiter.check_key(&key) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                let used = self.burst.get().saturating_sub(remaining);
                Verdict::Allowed {
                    remaining,
                    reset: u64::from(used.div_ceil(self.per_second.get())),
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Verdict::Denied {
                    retry_after: whole_seconds(wait),
                }
            }
        }
    }

    /// The client's address: the connection's, or, when that is a trusted
    /// proxy, the last address in `X-Forwarded-For` that is not one.
    fn client_address(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusted(peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|part| part.trim().parse().ok())
            .collect();
        forwarded
            .iter()
            .rev()
            .find(|address| !self.trusted(**address))
            .or(forwarded.first())
            .copied()
            .or(Some(peer))
    }

    fn trusted(&self, address: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|network| network.contains(&address))
    }

    /// Adds the headers that tell a client where it stands.
    pub fn add_headers(&self, verdict: &Verdict, headers: &mut HeaderMap) {
        let (remaining, reset) = match *verdict {
            Verdict::Allowed { remaining, reset } => (remaining, reset),
            Verdict::Denied { retry_after } => (0, retry_after),
        };
        headers.insert(RATELIMIT_POLICY, self.policy.clone());
        if let Ok(value) = HeaderValue::from_str(&format!("{POLICY_NAME};r={remaining};t={reset}"))
        {
            headers.insert(RATELIMIT, value);
        }
    }

    /// Forgets the clients whose quota is whole again, so the map holds
    /// only recent ones.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// Seconds, rounded up, and at least one: a client told to retry in 0 s
/// would come back at once.
fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_millis().div_ceil(1000) as u64).max(1)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use todo_core::Owner;

    use super::*;
    use crate::http::auth::AuthKind;

    fn principal(owner: Owner) -> Principal {
        Principal {
            owner,
            subject: (!owner.is_anonymous()).then(|| Arc::from("someone")),
            kind: AuthKind::Jwt,
            key_scope: String::new(),
        }
    }

    fn limits(trusted: &[&str]) -> RateLimits {
        RateLimits::new(
            NonZeroU32::new(1).unwrap(),
            NonZeroU32::new(2).unwrap(),
            trusted.iter().map(|net| net.parse().unwrap()).collect(),
        )
    }

    #[test]
    fn each_user_has_a_bucket_of_their_own() {
        let limits = limits(&[]);
        let (alice, bob) = (principal(Owner::from_id(2)), principal(Owner::from_id(3)));
        let headers = HeaderMap::new();
        assert!(matches!(
            limits.check(&alice, None, &headers),
            Verdict::Allowed { remaining: 1, .. }
        ));
        assert!(matches!(
            limits.check(&alice, None, &headers),
            Verdict::Allowed { remaining: 0, .. }
        ));
        assert!(matches!(
            limits.check(&alice, None, &headers),
            Verdict::Denied { retry_after: 1 }
        ));
        assert!(matches!(
            limits.check(&bob, None, &headers),
            Verdict::Allowed { .. }
        ));
    }

    #[test]
    fn the_anonymous_user_is_counted_per_client_address() {
        let limits = limits(&["10.0.0.0/8"]);
        let anonymous = principal(Owner::ANONYMOUS);
        let direct: IpAddr = "192.0.2.7".parse().unwrap();
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let mut forwarded = HeaderMap::new();
        forwarded.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 10.9.9.9"),
        );
        assert_eq!(
            limits.client_address(Some(direct), &forwarded),
            Some(direct),
            "not a trusted proxy"
        );
        assert_eq!(
            limits.client_address(Some(proxy), &forwarded),
            Some("203.0.113.9".parse().unwrap()),
            "the last address before the trusted ones"
        );
        assert_eq!(
            limits.client_address(Some(proxy), &HeaderMap::new()),
            Some(proxy)
        );
        for _ in 0..2 {
            assert!(matches!(
                limits.check(&anonymous, Some(direct), &HeaderMap::new()),
                Verdict::Allowed { .. }
            ));
        }
        assert!(matches!(
            limits.check(&anonymous, Some(direct), &HeaderMap::new()),
            Verdict::Denied { .. }
        ));
        assert!(matches!(
            limits.check(&anonymous, Some(proxy), &forwarded),
            Verdict::Allowed { .. }
        ));
    }

    #[test]
    fn the_headers_name_the_policy_and_what_is_left() {
        let limits = limits(&[]);
        let mut headers = HeaderMap::new();
        limits.add_headers(
            &Verdict::Allowed {
                remaining: 1,
                reset: 1,
            },
            &mut headers,
        );
        assert_eq!(headers["ratelimit-policy"], "\"default\";q=2;w=2");
        assert_eq!(headers["ratelimit"], "\"default\";r=1;t=1");
    }
}
