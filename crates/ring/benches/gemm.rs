//! The wrapping-u64 product on shapes of ResNet50's convolutions (out channels × patch
//! length × output positions, after im2col), and one whole convolution with its im2col.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use cryptflow_ring::conv::{self, ConvGeometry};
use cryptflow_ring::{gemm, Prg, Seed};

fn products(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    group.sample_size(10);
    // layer1 3×3 conv, layer3 1×1 conv, layer4 3×3 conv.
    for (m, k, n) in [(64, 576, 3136), (1024, 256, 196), (512, 4608, 49)] {
        let mut prg = Prg::new(Seed::from_u64(1));
        let (a, b) = (prg.u64s(m * k), prg.u64s(k * n));
        group.throughput(Throughput::Elements((m * k * n) as u64));
        group.bench_with_input(
            BenchmarkId::new("matmul", format!("{m}x{k}x{n}")),
            &(a, b),
            |bench, (a, b)| bench.iter(|| gemm::matmul(a, b, m, k, n)),
        );
    }
    group.finish();
}

fn convolution(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv");
    group.sample_size(10);
    let geometry = ConvGeometry {
        in_channels: 64,
        in_height: 56,
        in_width: 56,
        out_channels: 64,
        kernel: [3, 3],
        strides: [1, 1],
        pads: [1, 1, 1, 1],
        dilations: [1, 1],
        groups: 1,
    };
    let mut prg = Prg::new(Seed::from_u64(2));
    let (x, w) = (
        prg.u64s(geometry.input_len()),
        prg.u64s(geometry.weight_len()),
    );
    group.throughput(Throughput::Elements(
        (geometry.output_len() * geometry.patch_len()) as u64,
    ));
    group.bench_function("resnet50_layer1_3x3", |b| {
        b.iter(|| conv::conv2d(&geometry, &x, &w))
    });
    group.finish();
}

criterion_group!(benches, products, convolution);
criterion_main!(benches);
