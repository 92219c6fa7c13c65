//! The events waiting for the audit writer, in the order they were recorded: a list behind a
//! lock that the writer takes whole (group commit), not a channel. A request appends its event
//! and wakes the writer only when the list was empty; the writer takes everything at once, by
//! swapping lists. tokio's unbounded channel did an atomic hand-off per event at both ends,
//! and the writer takes events only in batches anyway.
//!
//! When the writer stops (the runtime shuts down), the queue is closed: what it still holds,
//! and every event offered after, is handed back to be reported as lost, never held silently.

use super::Event;
use std::sync::Mutex;
use tokio::sync::Notify;

#[derive(Default)]
pub(super) struct Queue {
    waiting: Mutex<Waiting>,
    arrived: Notify,
}

#[derive(Default)]
struct Waiting {
    events: Vec<Event>,
    closed: bool,
}

impl Queue {
    /// Appends an event, or hands it back if the writer has stopped.
    pub(super) fn push(&self, event: Event) -> Result<(), Event> {
        let first = {
            let mut waiting = self.lock();
            if waiting.closed {
                return Err(event);
            }
            waiting.events.push(event);
            waiting.events.len() == 1
        };
        if first {
            self.arrived.notify_one();
        }
        Ok(())
    }

    pub(super) fn len(&self) -> usize {
        self.lock().events.len()
    }

    /// Waits until an event is waiting (at once if one is).
    pub(super) async fn arrival(&self) {
        while self.len() == 0 {
            // A wake-up from an event an earlier batch already took leaves the list empty:
            // wait again.
            self.arrived.notified().await;
        }
    }

    /// Moves up to `at_most` of the oldest events to the end of `batch`.
    pub(super) fn take(&self, batch: &mut Vec<Event>, at_most: usize) {
        let mut waiting = self.lock();
        let events = &mut waiting.events;
        if batch.is_empty() && events.len() <= at_most {
            // The common case: the whole list, by swapping it with the empty batch.
            std::mem::swap(events, batch);
        } else {
            let n = events.len().min(at_most.saturating_sub(batch.len()));
            batch.extend(events.drain(..n));
        }
    }

    /// Closes the queue: the events still in it are returned, and later ones refused.
    pub(super) fn close(&self) -> Vec<Event> {
        let mut waiting = self.lock();
        waiting.closed = true;
        std::mem::take(&mut waiting.events)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        // Nothing panics while holding it; a poisoned lock still holds a consistent list.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn event(n: usize) -> Event {
        Event::new("test").set("n", n as u64)
    }

    fn numbers(events: &[Event]) -> Vec<u64> {
        events
            .iter()
            .map(|e| e.get("n").and_then(|n| n.as_u64()).unwrap())
            .collect()
    }

    #[test]
    fn events_are_taken_in_order_and_at_most_as_many_as_asked() {
        let queue = Queue::default();
        for n in 0..5 {
            queue.push(event(n)).unwrap();
        }
        let mut batch = Vec::new();
        queue.take(&mut batch, 3);
        assert_eq!(numbers(&batch), [0, 1, 2]);
        queue.take(&mut batch, 4);
        assert_eq!(
            numbers(&batch),
            [0, 1, 2, 3],
            "a batch never exceeds its bound"
        );
        queue.push(event(5)).unwrap();
        batch.clear();
        queue.take(&mut batch, 10);
        assert_eq!(numbers(&batch), [4, 5]);
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn a_closed_queue_hands_back_what_it_held_and_what_comes_after() {
        let queue = Queue::default();
        queue.push(event(0)).unwrap();
        assert_eq!(numbers(&queue.close()), [0]);
        let refused = queue.push(event(1)).unwrap_err();
        assert_eq!(numbers(&[refused]), [1]);
    }

    #[tokio::test]
    async fn the_writer_wakes_for_an_event_pushed_while_it_waits_or_before() {
        let queue = Arc::new(Queue::default());
        queue.push(event(0)).unwrap();
        // Already there: no wait.
        tokio::time::timeout(Duration::from_secs(5), queue.arrival())
            .await
            .unwrap();
        queue.take(&mut Vec::new(), 10);
        // The wake-up of that first event is still pending: it must not end a wait on an
        // empty queue.
        let waiting = tokio::spawn({
            let queue = queue.clone();
            async move { queue.arrival().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "woken with nothing to take");
        queue.push(event(1)).unwrap();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("woken by the push")
            .unwrap();
    }
}
