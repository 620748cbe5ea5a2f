//! One share-holder pair's select (ReLU) on a batch, both parties stepped in this
//! thread with the messages passed in memory: the computation a comparison costs,
//! without the network, at each width. The helper's dealing is measured apart.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use cryptflow_protocol::relu::{ReluCorrelation, SecureSelect, Width};
use cryptflow_protocol::Step;
use cryptflow_ring::{Party, Prg, Seed};

const N: usize = 1 << 17;

fn prg(seed: u64) -> Prg {
    Prg::new(Seed::from_u64(seed))
}

/// Runs one select of `x` (shared as x0 + x1) to the end; returns P0's output share.
fn select(x0: &[u64], x1: &[u64], width: Width) -> Vec<u64> {
    let n = x0.len();
    let message = ReluCorrelation::deal(n, width, &mut prg(1), &mut prg(2));
    let c0 = ReluCorrelation::draw(&mut prg(1), n, width);
    let c1 = ReluCorrelation::for_client(n, width, &mut prg(2), &message).expect("dealt");
    let (mut p0, m0) = SecureSelect::start(Party::ModelOwner, x0, x0, c0).expect("P0");
    let (mut p1, m1) = SecureSelect::start(Party::Client, x1, x1, c1).expect("P1");
    let (mut to_p1, mut to_p0) = (m0.words, m1.words);
    loop {
        match (p0.step(to_p0).expect("P0"), p1.step(to_p1).expect("P1")) {
            (Step::Send(a), Step::Send(b)) => (to_p1, to_p0) = (a.words, b.words),
            (Step::Done(z0), Step::Done(_)) => return z0,
            _ => panic!("the parties fell out of step"),
        }
    }
}

fn selects(c: &mut Criterion) {
    let mut group = c.benchmark_group("select");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N as u64));
    // Activation-sized values (|x| < 2^20) in random shares.
    let x: Vec<u64> = prg(3)
        .u64s(N)
        .iter()
        .map(|r| ((*r as i64) >> 44) as u64)
        .collect();
    let x1 = prg(4).u64s(N);
    let x0: Vec<u64> = x.iter().zip(&x1).map(|(a, b)| a.wrapping_sub(*b)).collect();
    for bits in [64, 32, 16] {
        let width = Width::new(bits).expect("a width");
        group.bench_with_input(BenchmarkId::new("pair", bits), &width, |b, &w| {
            b.iter(|| select(&x0, &x1, w))
        });
        group.bench_with_input(BenchmarkId::new("deal", bits), &width, |b, &w| {
            b.iter(|| ReluCorrelation::deal(N, w, &mut prg(1), &mut prg(2)))
        });
    }
    group.finish();
}

criterion_group!(benches, selects);
criterion_main!(benches);
