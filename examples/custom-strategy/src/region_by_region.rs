//! A blue-green deploy, one region at a time (see the crate docs).

use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use fleetsim::api::{
    ApiResult, CheckState, Machine, MachineId, MachineState, MachinesApi, Marker, Phase, Runtime,
};
use fleetsim::deploy::launch_input::launch_input_for_update;
use fleetsim::deploy::{DeployFuture, DeployParams, DeployReport, Strategy};
use fleetsim::observe::{DeployOutcome, InvariantSet};

/// Tries of each API call before the deploy gives up on it.
const ATTEMPTS_MAX: u32 = 5;
/// The pause between two tries, and between two looks at a booting green.
const RETRY_PAUSE: Duration = Duration::from_secs(1);
/// Between cordoning a region's blues and destroying them: time for the edge proxies to stop
/// routing to them (fleetsim's scenarios put propagation's p99 at a few seconds).
const DRAIN: Duration = Duration::from_secs(15);

/// The strategy. It holds no state: each deploy gets its own `Deployer`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RegionByRegion;

impl RegionByRegion {
    pub const NAME: &'static str = "region-by-region";
}

impl<A: MachinesApi + 'static, R: Runtime> Strategy<A, R> for RegionByRegion {
    fn name(&self) -> &str {
        RegionByRegion::NAME
    }

    /// It creates greens beside blues like bluegreen, but takes no leases and has no
    /// rollback rules of flyctl's, so it answers only for what every strategy promises.
    fn invariants(&self) -> InvariantSet {
        InvariantSet::EVERY_STRATEGY
    }

    fn deploy(&self, api: Rc<A>, runtime: R, params: DeployParams) -> DeployFuture {
        Box::pin(async move {
            let deployer = Deployer {
                api,
                runtime,
                params,
            };
            deployer.run().await
        })
    }
}

struct Deployer<A, R> {
    api: Rc<A>,
    runtime: R,
    params: DeployParams,
}

impl<A: MachinesApi + 'static, R: Runtime> Deployer<A, R> {
    async fn run(self) -> DeployReport {
        let mut report = DeployReport {
            outcome: DeployOutcome::Failed,
            exit_status: 1,
            error: None,
            blues: Vec::new(),
            greens: Vec::new(),
            hanging: Vec::new(),
        };
        match self.update_every_region(&mut report).await {
            Ok(()) => {
                report.outcome = DeployOutcome::Succeeded;
                report.exit_status = 0;
                self.runtime.print("Deployment Complete");
            }
            Err(error) => {
                self.runtime.print(&format!("Error: {error}"));
                report.error = Some(error);
            }
        }
        report
    }

    async fn update_every_region(&self, report: &mut DeployReport) -> Result<(), String> {
        let machines = self.retry("list", || self.api.list()).await?;
        let blues: Vec<Machine> = machines
            .into_iter()
            .filter(|machine| {
                !matches!(
                    machine.state,
                    MachineState::Destroying | MachineState::Destroyed
                ) && machine.config.image != self.params.image
            })
            .collect();
        report.blues = blues.iter().map(|blue| blue.id.clone()).collect();
        let mut by_region: BTreeMap<&str, Vec<&Machine>> = BTreeMap::new();
        for blue in &blues {
            by_region.entry(&blue.region).or_default().push(blue);
        }
        for (region, region_blues) in by_region {
            self.runtime.print(&format!(
                "Updating region {region} ({} machine(s))",
                region_blues.len()
            ));
            let greens = self.launch_greens(&region_blues, &blues, report).await?;
            if let Err(error) = self.wait_healthy(&greens).await {
                self.destroy_all(&greens, report).await;
                report.outcome = DeployOutcome::RolledBack;
                return Err(format!("region {region}: {error}"));
            }
            self.retire(&region_blues, report).await;
        }
        match report.hanging.is_empty() {
            true => Ok(()),
            false => Err(format!("{} blue(s) not destroyed", report.hanging.len())),
        }
    }

    /// One green per blue, launched like the blue but with the new image. Returns the greens
    /// and whether each boots (a stopped blue's green is created stopped).
    async fn launch_greens(
        &self,
        region_blues: &[&Machine],
        blues: &[Machine],
        report: &mut DeployReport,
    ) -> Result<Vec<(MachineId, bool)>, String> {
        self.runtime.mark(Marker::PhaseStarted(Phase::CreateGreens));
        let mut greens = Vec::new();
        for blue in region_blues {
            let input = launch_input_for_update(blue, blues, &self.params);
            let boots = !input.skip_launch;
            let green = self
                .retry("launch", || self.api.launch(input.clone()))
                .await?;
            self.runtime.mark(Marker::GreenRecorded(green.id.clone()));
            report.greens.push(green.id.clone());
            greens.push((green.id, boots));
        }
        Ok(greens)
    }

    /// Waits until every booting green is started with all checks passing, within the
    /// deploy's wait timeout.
    async fn wait_healthy(&self, greens: &[(MachineId, bool)]) -> Result<(), String> {
        self.runtime.mark(Marker::PhaseStarted(Phase::WaitHealthy));
        let deadline = self.runtime.now() + self.params.wait_timeout;
        for (green, _) in greens.iter().filter(|(_, boots)| *boots) {
            loop {
                let machine = self.retry("get", || self.api.get(green)).await?;
                let healthy = machine.state == MachineState::Started
                    && machine
                        .checks
                        .iter()
                        .all(|check| check.status == CheckState::Passing);
                if healthy {
                    break;
                }
                if self.runtime.now() >= deadline {
                    return Err(format!("green {green} not healthy in time"));
                }
                self.runtime.sleep(RETRY_PAUSE).await;
            }
        }
        Ok(())
    }

    /// Cordons the region's blues, lets the proxies learn of it, then destroys them. A blue
    /// whose destroy keeps failing is reported hanging.
    async fn retire(&self, region_blues: &[&Machine], report: &mut DeployReport) {
        self.runtime.mark(Marker::PhaseStarted(Phase::CordonBlues));
        for blue in region_blues {
            // A failed cordon only shortens the blue's drain; the destroy below still runs.
            let _ = self
                .retry("cordon", || self.api.cordon(&blue.id, None))
                .await;
        }
        self.runtime.sleep(DRAIN).await;
        let ids: Vec<MachineId> = region_blues.iter().map(|blue| blue.id.clone()).collect();
        self.destroy_all(
            &ids.into_iter().map(|id| (id, true)).collect::<Vec<_>>(),
            report,
        )
        .await;
    }

    async fn destroy_all(&self, machines: &[(MachineId, bool)], report: &mut DeployReport) {
        self.runtime.mark(Marker::PhaseStarted(Phase::DestroyBlues));
        for (machine, _) in machines {
            let destroyed = self
                .retry("destroy", || self.api.destroy(machine, true, None))
                .await;
            if destroyed.is_err() {
                report.hanging.push(machine.clone());
            }
        }
    }

    /// Calls `call` up to [`ATTEMPTS_MAX`] times, pausing between tries.
    async fn retry<T, Call, Calling>(&self, what: &str, call: Call) -> Result<T, String>
    where
        Call: Fn() -> Calling,
        Calling: Future<Output = ApiResult<T>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(error) if attempt >= ATTEMPTS_MAX => {
                    return Err(format!("{what} failed {attempt} times: {error}"))
                }
                Err(_) => {
                    attempt += 1;
                    self.runtime.sleep(RETRY_PAUSE).await;
                }
            }
        }
    }
}
