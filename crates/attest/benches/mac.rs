//! The transcript MAC's candidates over one message: BLAKE3 keyed hashing and GMAC
//! (AES-128-GCM with the message as associated data, ring). DESIGN.md quotes the result.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn macs(c: &mut Criterion) {
    let mut group = c.benchmark_group("transcript_mac");
    let key = [7u8; 32];
    let gcm = ring::aead::LessSafeKey::new(
        ring::aead::UnboundKey::new(&ring::aead::AES_128_GCM, &key[..16]).expect("key"),
    );
    for size in [64 << 10, 4 << 20] {
        let message = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("blake3_keyed", size), &message, |b, m| {
            b.iter(|| blake3::keyed_hash(&key, m))
        });
        group.bench_with_input(BenchmarkId::new("gmac_aes128", size), &message, |b, m| {
            b.iter(|| {
                let nonce = ring::aead::Nonce::assume_unique_for_key([1; 12]);
                gcm.seal_in_place_separate_tag(nonce, ring::aead::Aad::from(m), &mut [])
                    .expect("sealed")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, macs);
criterion_main!(benches);
