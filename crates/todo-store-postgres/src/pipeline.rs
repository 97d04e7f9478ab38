//! Running several statements of one connection at once: the driver
//! pipelines the requests of futures polled together, so a bulk update
//! costs about one round trip instead of one per todo.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

/// Polls every future on the current task until all are done, returning
/// their outputs in input order, or the first error seen.
pub(crate) async fn try_join_all<T, E, F>(futures: impl IntoIterator<Item = F>) -> Result<Vec<T>, E>
where
    F: Future<Output = Result<T, E>>,
{
    let mut pending: Vec<Option<Pin<Box<F>>>> = futures
        .into_iter()
        .map(|future| Some(Box::pin(future)))
        .collect();
    let mut outputs: Vec<Option<T>> = pending.iter().map(|_| None).collect();
    // Replies come back in request order, so everything before `first` is
    // done and need not be looked at again.
    let mut first = 0;
    poll_fn(|cx| {
        for (slot, output) in pending[first..].iter_mut().zip(&mut outputs[first..]) {
            let Some(future) = slot else { continue };
            match future.as_mut().poll(cx) {
                Poll::Ready(Ok(value)) => {
                    *output = Some(value);
                    *slot = None;
                }
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => {}
            }
        }
        while first < pending.len() && pending[first].is_none() {
            first += 1;
        }
        if first == pending.len() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    })
    .await?;
    Ok(outputs.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outputs_come_back_in_input_order() {
        let futures = (0..5u64).map(|n| async move {
            tokio::time::sleep(std::time::Duration::from_millis(10 * (5 - n))).await;
            Ok::<_, ()>(n)
        });
        assert_eq!(try_join_all(futures).await, Ok(vec![0, 1, 2, 3, 4]));
    }

    #[tokio::test]
    async fn the_first_error_ends_the_join() {
        let futures = (0..3).map(|n| async move { if n == 1 { Err(n) } else { Ok(n) } });
        assert_eq!(try_join_all(futures).await, Err(1));
    }

    #[tokio::test]
    async fn nothing_to_join_gives_nothing() {
        let futures: Vec<std::future::Ready<Result<u8, ()>>> = Vec::new();
        assert_eq!(try_join_all(futures).await, Ok(Vec::new()));
    }
}
