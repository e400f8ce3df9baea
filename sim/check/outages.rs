//! The one definition of an outage: time during which some proxy that has served has no live
//! routable machine. Kept by the checkers (`Fleet`, for `no-downtime` and the outage metrics) and
//! by the reports' replay of the trace (the timeline), so both count the same windows.

/// Which proxies serve, and the outage open now. `T` is the time (virtual time, or microseconds
/// in a report).
#[derive(Clone, Debug)]
pub struct Outages<T> {
    /// Per proxy: whether it ever served (a proxy that never served is not down, only new).
    ever_served: Vec<bool>,
    /// Proxies that served and serve no more.
    down: u32,
    /// When the open outage began, if one is open.
    since: Option<T>,
}

impl<T: Copy> Outages<T> {
    pub fn new(proxies: usize) -> Outages<T> {
        Outages {
            ever_served: vec![false; proxies],
            down: 0,
            since: None,
        }
    }

    /// Proxies that served and have no live routable machine now.
    pub fn down(&self) -> u32 {
        self.down
    }

    pub fn ever_served(&self, proxy: u32) -> bool {
        self.ever_served[proxy as usize]
    }

    /// A proxy starts or stops serving at `at`. Returns the outage window this closes, if any.
    pub fn proxy_serving(&mut self, at: T, proxy: u32, serving: bool) -> Option<(T, T)> {
        let ever = &mut self.ever_served[proxy as usize];
        if !serving {
            self.down += 1;
            if self.down == 1 {
                self.since = Some(at);
            }
            return None;
        }
        if !std::mem::replace(ever, true) {
            return None;
        }
        self.down -= 1;
        if self.down > 0 {
            return None;
        }
        self.close(at)
    }

    /// Closes the open outage at `at` (the end of the run), if one is open.
    pub fn close(&mut self, at: T) -> Option<(T, T)> {
        self.since.take().map(|since| (since, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the definition: an outage runs from the first proxy down to the last one back; a
    // proxy that starts serving for the first time closes nothing.
    #[test]
    fn an_outage_runs_from_the_first_proxy_down_to_the_last_back() {
        let mut outages = Outages::new(2);
        assert_eq!(outages.proxy_serving(0, 0, true), None);
        assert_eq!(outages.proxy_serving(0, 1, true), None);
        assert_eq!(outages.proxy_serving(10, 0, false), None);
        assert_eq!(outages.proxy_serving(12, 1, false), None);
        assert_eq!(outages.down(), 2);
        assert_eq!(
            outages.proxy_serving(15, 0, true),
            None,
            "proxy 1 is still down"
        );
        assert_eq!(outages.proxy_serving(20, 1, true), Some((10, 20)));
        assert_eq!(outages.down(), 0);
        assert_eq!(outages.close(30), None, "nothing open");
        assert_eq!(outages.proxy_serving(40, 1, false), None);
        assert_eq!(outages.close(50), Some((40, 50)));
    }
}
