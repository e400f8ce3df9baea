//! Open-loop traffic: Poisson arrivals at each region's proxy. The proxy picks a machine it
//! believes routable; a refused connection (the machine is really gone) is retried on another
//! machine; with no candidate at all the proxy holds the request until its view changes or the
//! hold timeout ends. Open loop: arrivals do not slow down when the app is down.

use std::collections::VecDeque;
use std::time::Duration;

use crate::engine::SimTime;
use crate::observe::{FailureReason, MachineIndex, Observation, Step};
use crate::platform::{Event, World};

/// One request's progress.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    pub proxy: u32,
    pub arrived_at: SimTime,
    /// Refused connection attempts so far.
    pub refusals: u32,
    /// The machines that refused it (at most `connect_retries` + 1).
    pub refused_by: Vec<MachineIndex>,
    /// When the proxy gives up holding it (set the first time it is held).
    pub hold_deadline: Option<SimTime>,
    pub done: bool,
}

/// The requests not yet known finished: a window over request numbers, from the oldest one still in
/// flight to the newest. Finished requests leave from the front, so the window holds about rate ×
/// (longest service or hold) records however long the run; keeping every request was 6 % of a basic
/// run's profile in reallocation alone (issue 6). Numbers stay unique, so an event about a request
/// that already finished finds no record rather than a newer request's.
#[derive(Clone, Debug, Default)]
pub struct RequestWindow {
    records: VecDeque<RequestRecord>,
    /// The number of `records[0]`.
    first: u32,
}

impl RequestWindow {
    /// Requests that arrived so far: the next request's number.
    pub fn arrived(&self) -> usize {
        self.first as usize + self.records.len()
    }

    fn push(&mut self, record: RequestRecord) -> u32 {
        let request = u32::try_from(self.arrived()).expect("requests fit in u32");
        self.records.push_back(record);
        request
    }

    /// The request's record, or None once it finished and left the window.
    pub fn get(&self, request: u32) -> Option<&RequestRecord> {
        let offset = request.checked_sub(self.first)?;
        self.records.get(offset as usize)
    }

    fn record_mut(&mut self, request: u32) -> &mut RequestRecord {
        let offset = request
            .checked_sub(self.first)
            .expect("a request in flight is in the window");
        &mut self.records[offset as usize]
    }

    /// Drops the finished requests at the front.
    fn trim(&mut self) {
        while self.records.front().is_some_and(|record| record.done) {
            self.records.pop_front();
            self.first += 1;
        }
    }
}

/// Traffic state.
#[derive(Clone, Debug)]
pub struct Traffic {
    pub running: bool,
    pub requests: RequestWindow,
    /// Mean time between arrivals, per proxy (None: no traffic there).
    pub interarrival_mean: Vec<Option<Duration>>,
    pub requests_max: usize,
    /// Requests arrived and not yet finished.
    pub in_flight: u64,
}

impl Traffic {
    pub fn new(proxy_count: usize, requests_max: usize) -> Traffic {
        Traffic {
            running: true,
            requests: RequestWindow::default(),
            interarrival_mean: vec![None; proxy_count],
            requests_max,
            in_flight: 0,
        }
    }
}

impl World {
    /// Schedules the first arrival at every proxy with traffic.
    pub fn start_traffic(&mut self) {
        for proxy in 0..self.proxies.len() as u32 {
            self.schedule_next_arrival(proxy);
        }
    }

    fn schedule_next_arrival(&mut self, proxy: u32) {
        let Some(mean) = self.traffic.interarrival_mean[proxy as usize] else {
            return;
        };
        let gap = self.streams.traffic.exponential(mean);
        self.schedule_after(gap, Event::RequestArrives { proxy });
    }

    pub fn request_arrives(&mut self, proxy: u32) {
        if !self.traffic.running {
            return;
        }
        if self.traffic.requests.arrived() >= self.traffic.requests_max {
            self.limit_hit
                .get_or_insert(crate::platform::LimitHit::Requests {
                    limit: self.traffic.requests_max as u64,
                });
            return;
        }
        let request = self.traffic.requests.push(RequestRecord {
            proxy,
            arrived_at: self.now(),
            refusals: 0,
            refused_by: Vec::new(),
            hold_deadline: None,
            done: false,
        });
        self.traffic.in_flight += 1;
        self.record(Step::RequestArrived { request, proxy });
        self.request_attempt(request);
        self.schedule_next_arrival(proxy);
    }

    /// The proxy tries to route the request.
    pub fn request_attempt(&mut self, request: u32) {
        let Some(record) = self.traffic.requests.get(request) else {
            return; // finished
        };
        if record.done {
            return;
        }
        let proxy = record.proxy;
        let refused = std::mem::take(&mut self.traffic.requests.record_mut(request).refused_by);
        let choice = self.pick_machine(proxy, &refused);
        self.traffic.requests.record_mut(request).refused_by = refused;
        match choice {
            None => self.hold_request(request),
            Some(machine) if self.machines[machine as usize].accepting => {
                self.route_request(request, machine)
            }
            Some(machine) => self.refuse_request(request, machine),
        }
    }

    fn route_request(&mut self, request: u32, machine: MachineIndex) {
        self.record(Step::RequestRouted { request, machine });
        let service_time = self.scenario.traffic.service_time.clone();
        let service = self.streams.traffic.sample(&service_time);
        let incarnation = self.machines[machine as usize].incarnation;
        self.machines[machine as usize].in_flight += 1;
        self.schedule_after(
            service,
            Event::RequestServed {
                request,
                machine,
                incarnation,
            },
        );
    }

    fn refuse_request(&mut self, request: u32, machine: MachineIndex) {
        self.record(Step::RequestRefused { request, machine });
        let record = self.traffic.requests.record_mut(request);
        record.refusals += 1;
        record.refused_by.push(machine);
        if record.refusals > self.scenario.proxy.connect_retries {
            self.finish_request(request, Some(FailureReason::ConnectionRefused));
            return;
        }
        let delay = self.scenario.proxy.retry_delay;
        self.schedule_after(delay, Event::RequestRetry { request });
    }

    fn hold_request(&mut self, request: u32) {
        let now = self.now();
        let hold_timeout = self.scenario.proxy.hold_timeout;
        let record = self.traffic.requests.record_mut(request);
        let deadline = *record.hold_deadline.get_or_insert(now + hold_timeout);
        if now >= deadline {
            self.finish_request(request, Some(FailureReason::NoRoutableMachine));
            return;
        }
        let proxy = record.proxy;
        let first_held = self.proxies[proxy as usize].held.is_empty();
        self.proxies[proxy as usize].held.push_back(request);
        if first_held {
            self.autostart_for(proxy);
        }
        self.record(Step::RequestHeld { request });
        self.schedule(deadline, Event::HoldExpires { request });
    }

    pub fn hold_expires(&mut self, request: u32) {
        let Some(record) = self.traffic.requests.get(request) else {
            return; // finished
        };
        if record.done {
            return;
        }
        let proxy = record.proxy as usize;
        let Some(position) = self.proxies[proxy]
            .held
            .iter()
            .position(|held| *held == request)
        else {
            return; // dispatched meanwhile; it is in flight or retrying
        };
        self.proxies[proxy].held.remove(position);
        self.finish_request(request, Some(FailureReason::NoRoutableMachine));
    }

    pub fn request_served(&mut self, request: u32, machine: MachineIndex, incarnation: u32) {
        // The failure of a request whose machine died is recorded here, at the end of its
        // service time, rather than at the kill: at most one service time late.
        let killed = self.machines[machine as usize].incarnation != incarnation;
        let failure = killed.then_some(FailureReason::Killed);
        self.finish_request(request, failure);
        if !killed {
            self.request_left(machine);
        }
    }

    fn finish_request(&mut self, request: u32, failure: Option<FailureReason>) {
        let now = self.now();
        let record = self.traffic.requests.record_mut(request);
        assert!(!record.done, "request finished twice");
        record.done = true;
        self.traffic.in_flight -= 1;
        let latency = now - record.arrived_at;
        let retried = record.refusals > 0 || record.hold_deadline.is_some();
        let proxy = record.proxy;
        self.traffic.requests.trim();
        self.record(Step::RequestDone { request, failure });
        self.observe(&Observation::RequestDone {
            proxy,
            failure,
            latency,
            retried,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RequestRecord {
        RequestRecord {
            proxy: 0,
            arrived_at: SimTime::ZERO,
            refusals: 0,
            refused_by: Vec::new(),
            hold_deadline: None,
            done: false,
        }
    }

    // Guards the request window: requests that finish out of order leave only once every older
    // one has finished, and a finished request is never confused with a newer one.
    #[test]
    fn the_window_keeps_requests_until_all_older_ones_finished() {
        let mut window = RequestWindow::default();
        let numbers: Vec<u32> = (0..4).map(|_| window.push(record())).collect();
        assert_eq!(numbers, vec![0, 1, 2, 3]);
        window.record_mut(1).done = true;
        window.trim();
        assert!(window.get(0).is_some_and(|record| !record.done));
        assert!(window.get(1).is_some_and(|record| record.done));
        window.record_mut(0).done = true;
        window.trim();
        assert!(window.get(0).is_none() && window.get(1).is_none());
        assert!(window.get(2).is_some());
        assert_eq!(window.push(record()), 4, "numbers keep counting");
        assert_eq!(window.arrived(), 5);
        assert!(window.get(9).is_none());
    }
}
