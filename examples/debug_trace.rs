fn main() {
    let path = std::env::args().nth(1).expect("scenario");
    let scenario = fleetsim::scenario::load(std::path::Path::new(&path)).expect("valid");
    let result = fleetsim::sim::Simulation::new(&scenario)
        .keep_trace(true)
        .run();
    for record in result.trace.iter() {
        println!("{} {:?}", record.time, record.step);
    }
}
